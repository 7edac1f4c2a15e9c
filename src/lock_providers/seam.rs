//! Seam (placeholder while it is written).
