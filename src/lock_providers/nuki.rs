//! The Nuki Web API (placeholder while it is written).
