//! `reelguard completions bash|zsh|fish` and `reelguard man`: shell
//! completion scripts and the man page, made from the same clap definitions
//! the command line is parsed with, so they never disagree with it.

use std::io::Write;

use clap::{Args, CommandFactory, ValueEnum};

use super::Cli;

/// `reelguard completions SHELL`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    reelguard completions bash > ~/.local/share/bash-completion/completions/reelguard\n  \
    reelguard completions zsh > ~/.zfunc/_reelguard     # with fpath+=~/.zfunc in ~/.zshrc\n  \
    reelguard completions fish > ~/.config/fish/completions/reelguard.fish")]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells completions are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// `reelguard man`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  \
    reelguard man > ~/.local/share/man/man1/reelguard.1 && man reelguard")]
pub struct ManArgs {}

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    let name = command.get_name().to_string();
    match shell {
        Shell::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut command, name, &mut out)
        }
        Shell::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut command, name, &mut out)
        }
        Shell::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut command, name, &mut out)
        }
    }
    out
}

/// The man page (section 1, roff).
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}

/// Writes `bytes` to stdout; a reader that went away (`| head`) is not an
/// error.
pub fn print(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subcommands every output must name.
    const SUBCOMMANDS: [&str; 8] = [
        "init",
        "register",
        "works",
        "sources",
        "daemon",
        "verify",
        "completions",
        "man",
    ];

    #[test]
    fn completions_name_every_subcommand_in_each_shell() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script = String::from_utf8(completions(shell)).expect("UTF-8");
            assert!(script.len() > 1000, "{shell:?}: {} bytes", script.len());
            for subcommand in SUBCOMMANDS {
                assert!(script.contains(subcommand), "{shell:?} lacks {subcommand}");
            }
            assert!(script.contains("config"), "{shell:?}: the --config flag");
        }
    }

    #[test]
    fn the_bash_script_is_valid_bash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reelguard.bash");
        std::fs::write(&path, completions(Shell::Bash)).unwrap();
        let Ok(status) = std::process::Command::new("bash")
            .arg("-n")
            .arg(&path)
            .status()
        else {
            eprintln!("no bash: the syntax check is skipped");
            return;
        };
        assert!(status.success(), "bash -n {}", path.display());
    }

    #[test]
    fn the_man_page_describes_the_subcommands() {
        let page = String::from_utf8(man_page().unwrap()).expect("UTF-8");
        assert!(
            page.starts_with(".ie") || page.contains(".TH reelguard 1"),
            "{page}"
        );
        assert!(page.contains(".TH reelguard 1"), "{page}");
        for subcommand in SUBCOMMANDS {
            assert!(page.contains(subcommand), "the man page lacks {subcommand}");
        }
        assert!(page.contains("Find re\\-uploads") || page.contains("Find re-uploads"));
    }
}
