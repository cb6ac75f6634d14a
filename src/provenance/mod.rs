//! Creation-stage provenance: artifacts, their hash chain, certificates and packages.

pub mod certificate;
