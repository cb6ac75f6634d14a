//! Every integration test of reelguard, in one test binary (one link, one
//! place to look). Each module is one area, run against the real binary, the
//! real footage and the local stand-ins (`common`). Select an area with
//! `cargo test --test integration scan::`; a store test's backend with a
//! `::sqlite` or `::postgres` suffix.

#[macro_use]
mod common;

mod alerts;
mod api_schema;
mod architecture;
mod attacks;
mod backup;
mod bad_input;
mod browser;
mod capture_guard;
mod cluster;
mod config;
mod daemon;
mod dashboard;
mod doctor;
mod evidence;
mod faults;
mod fuzz_corpus;
mod hostile_zip;
mod load;
mod locations;
mod package;
mod printed_commands;
mod provenance;
mod queue;
mod registration;
mod scan;
mod secrets;
mod timestamp;
mod transforms;
mod upgrade;
