//! Integration tests: the real service, in-process on port 0, each test on
//! a fresh PostgreSQL database, driven over HTTP.

mod accounts;
mod admin_lists;
mod arrivals;
mod bookings;
mod browser;
mod channels;
mod claims;
mod cli;
mod console;
mod conversation;
mod discovery;
mod faults;
mod feeds;
mod health;
mod helpers;
mod integrations;
mod jobs;
mod journey;
mod lifecycle;
mod llm_prompt;
mod locks;
mod logs;
mod properties;
mod provider_nuki;
mod provider_seam;
mod providers;
mod readiness;
mod security;
mod sms_email;
mod staff;
mod staff_commands;
mod trail;
mod turnovers;
mod windows;
