//! `reelguard verify FILE.zip`: checks a provenance package or an evidence
//! bundle (by the `kind` in its manifest) offline and prints one line
//! per check. Exit 0 only when every check holds.

use std::path::PathBuf;

use clap::Args;

use super::{Context, InputError};
use crate::evidence::bundle;
use crate::provenance::package::{self, Check};
use crate::timestamp::load_trust_anchors;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  reelguard verify work.zip\n  reelguard verify work.zip --files ./originals --ca tsa-ca.pem\n  reelguard verify claim.zip --json"
)]
pub struct VerifyArgs {
    /// The provenance package (`works export`) or evidence bundle (`evidence export`) to check
    pub file: PathBuf,
    /// A directory holding the original artifact files: check them too
    #[arg(long, value_name = "DIR")]
    pub files: Option<PathBuf>,
    /// PEM file of a CA the tokens must chain to (repeatable) [default:
    /// timestamp.trust_anchors from the config, else the CA in the package]
    #[arg(long = "ca", value_name = "PEM")]
    pub ca: Vec<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// The verification found problems (exit code 1).
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} checks failed")]
pub struct VerificationFailed {
    pub failed: usize,
    pub total: usize,
}

pub async fn run(context: &Context, args: VerifyArgs) -> anyhow::Result<()> {
    if !args.file.is_file() {
        return Err(InputError(format!("{} is not a file", args.file.display())).into());
    }
    if let Some(dir) = &args.files {
        if !dir.is_dir() {
            return Err(InputError(format!("--files {}: not a directory", dir.display())).into());
        }
    }
    let files = package::read_zip(&args.file).map_err(|e| InputError(format!("{e:#}")))?;
    let chosen = if !args.ca.is_empty() {
        let anchors = load_trust_anchors(&args.ca).map_err(|e| InputError(e.to_string()))?;
        Some((anchors, "--ca"))
    } else if !context.config.timestamp.trust_anchors.is_empty() {
        let anchors = load_trust_anchors(&context.config.timestamp.trust_anchors)
            .map_err(|e| InputError(e.to_string()))?;
        Some((anchors, "timestamp.trust_anchors"))
    } else {
        None
    };
    let verified = bundle::verify_archive(&files, chosen, args.files.as_deref());
    let (checks, anchor_source) = (verified.checks, verified.anchor_source);
    let failed = checks.iter().filter(|c| !c.ok).count();
    if args.json {
        let out = serde_json::json!({
            "file": args.file,
            "ok": failed == 0,
            "trust_anchors": anchor_source,
            "checks": checks,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "verifying {} (trust anchors: {anchor_source})",
            args.file.display()
        );
        for Check { item, ok, detail } in &checks {
            println!("{}  {item}: {detail}", if *ok { "PASS" } else { "FAIL" });
        }
        if failed == 0 {
            println!("all {} checks passed", checks.len());
        }
    }
    if failed > 0 {
        return Err(VerificationFailed {
            failed,
            total: checks.len(),
        }
        .into());
    }
    Ok(())
}
