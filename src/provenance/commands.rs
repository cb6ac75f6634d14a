//! The shell commands reelguard prints for checking its output by hand: in a
//! provenance package's and an evidence bundle's `VERIFY.md`, on the
//! certificate (PDF and HTML) and in its QR code.
//!
//! Each command is formatted here and nowhere else, with the paths it names
//! as they are inside the unpacked zip, so it runs as printed from the zip's
//! directory (`tests/printed_commands.rs` runs every one of them with
//! `sh -c`, then again after changing one byte of the file it checks).
//! Names that are not plain words (a zip called `my work.zip`) are quoted for
//! a POSIX shell.

/// `openssl ts -verify` of the token file `token` over a SHA-256 given in
/// hex (a hash the token covers that is not itself a file of the zip).
pub fn openssl_verify_digest(token: &str, sha256_hex: &str, ca: &str, untrusted: &str) -> String {
    format!(
        "openssl ts -verify -token_in -in {} -digest {} -CAfile {} -untrusted {}",
        shell_word(token),
        shell_word(sha256_hex),
        shell_word(ca),
        shell_word(untrusted)
    )
}

/// `openssl ts -verify` of the token file `token` over the file `data`.
pub fn openssl_verify_data(token: &str, data: &str, ca: &str, untrusted: &str) -> String {
    format!(
        "openssl ts -verify -token_in -in {} -data {} -CAfile {} -untrusted {}",
        shell_word(token),
        shell_word(data),
        shell_word(ca),
        shell_word(untrusted)
    )
}

/// `openssl ts -reply` printing a token's time, serial number and TSA.
pub fn openssl_token_text(token: &str) -> String {
    format!(
        "openssl ts -reply -token_in -in {} -text",
        shell_word(token)
    )
}

/// `sha256sum -c` of a list of hashes.
pub fn sha256sum_check(list: &str) -> String {
    format!("sha256sum -c {}", shell_word(list))
}

/// `sha256sum -c` of a list of hashes in the subdirectory `dir`, leaving the
/// shell where it was.
pub fn sha256sum_check_in(dir: &str, list: &str) -> String {
    format!("(cd {} && {})", shell_word(dir), sha256sum_check(list))
}

/// `reelguard verify` of a package or bundle file.
pub fn reelguard_verify(zip: &str) -> String {
    format!("reelguard verify {}", shell_word(zip))
}

/// The file name a package or bundle is checked under in the commands
/// printed for it: the name it was written as (`works export -o NAME`), or
/// `fallback` when there is none. A name that starts with `-` gets `./` in
/// front, so no command takes it for an option.
pub fn zip_name(path: &std::path::Path, fallback: &str) -> String {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| fallback.to_string());
    if name.starts_with('-') {
        format!("./{name}")
    } else {
        name
    }
}

/// `word` as one word of a POSIX shell command: as it is when it holds only
/// characters no shell treats specially, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=+,:@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_the_token_as_a_token_and_the_paths_as_given() {
        assert_eq!(
            openssl_verify_digest(
                "chain-head.tsr",
                "ab12",
                "tsa/tsa-ca.pem",
                "tsa/tsa-certs.pem"
            ),
            "openssl ts -verify -token_in -in chain-head.tsr -digest ab12 \
             -CAfile tsa/tsa-ca.pem -untrusted tsa/tsa-certs.pem"
        );
        assert_eq!(
            openssl_verify_data("a.tsr", "manifest.json", "ca.pem", "certs.pem"),
            "openssl ts -verify -token_in -in a.tsr -data manifest.json \
             -CAfile ca.pem -untrusted certs.pem"
        );
        assert_eq!(
            sha256sum_check_in("work", "SHA256SUMS"),
            "(cd work && sha256sum -c SHA256SUMS)"
        );
        assert_eq!(reelguard_verify("work.zip"), "reelguard verify work.zip");
    }

    #[test]
    fn unusual_names_are_quoted_for_the_shell() {
        assert_eq!(shell_word("tokens/01-script.tsr"), "tokens/01-script.tsr");
        assert_eq!(shell_word("my work.zip"), "'my work.zip'");
        assert_eq!(shell_word("it's.zip"), r"'it'\''s.zip'");
        assert_eq!(shell_word("$(rm -rf x).zip"), "'$(rm -rf x).zip'");
        assert_eq!(shell_word("作品.zip"), "'作品.zip'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(
            zip_name(std::path::Path::new("/tmp/out/claim 1.zip"), "x.zip"),
            "claim 1.zip"
        );
        assert_eq!(zip_name(std::path::Path::new("/"), "x.zip"), "x.zip");
        assert_eq!(
            zip_name(std::path::Path::new("-rf.zip"), "x.zip"),
            "./-rf.zip"
        );
    }
}
