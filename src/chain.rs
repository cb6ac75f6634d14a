//! The artifact hash chain (pure). Each entry's canonical text names the
//! previous entry's hash, so the hash of the last entry (the chain head)
//! commits to every stage in order; a timestamp on the head proves that no
//! stage was added earlier, reordered or removed afterwards.
//!
//! The text is plain UTF-8 lines so anyone can recompute an entry hash with
//! `sha256sum`, without reelguard.

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry commits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainEntry {
    pub work_id: String,
    pub seq: u32,
    pub prev_hash: String,
    pub stage: String,
    pub file_name: String,
    pub size_bytes: u64,
    pub sha256: String,
}

impl ChainEntry {
    /// The entry's canonical text: the bytes its hash is taken over.
    pub fn canonical_text(&self) -> String {
        // Line breaks in a file name would let one entry imitate another.
        let file_name = self.file_name.replace(['\n', '\r'], " ");
        format!(
            "reelguard-chain-v1\nwork: {}\nseq: {}\nprev: {}\nstage: {}\nfile: {}\nsize: {}\nsha256: {}\n",
            self.work_id, self.seq, self.prev_hash, self.stage, file_name, self.size_bytes, self.sha256
        )
    }

    /// SHA-256 (hex) of the canonical text.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.canonical_text().as_bytes()))
    }
}

/// Entries for `items` (stage, file name, size, sha256) appended after `head`
/// (the previous head hash and its seq, or None for an empty chain).
pub fn extend(
    work_id: &str,
    head: Option<(u32, String)>,
    items: &[(String, String, u64, String)],
) -> Vec<(ChainEntry, String)> {
    let (mut seq, mut prev) = head.unwrap_or((0, GENESIS.to_string()));
    items
        .iter()
        .map(|(stage, file_name, size_bytes, sha256)| {
            seq += 1;
            let entry = ChainEntry {
                work_id: work_id.to_string(),
                seq,
                prev_hash: prev.clone(),
                stage: stage.clone(),
                file_name: file_name.clone(),
                size_bytes: *size_bytes,
                sha256: sha256.clone(),
            };
            let hash = entry.hash();
            prev = hash.clone();
            (entry, hash)
        })
        .collect()
}

/// Checks that `entries` with their claimed hashes form one unbroken chain
/// from the genesis. Returns the head hash, or what is wrong.
pub fn check(entries: &[(ChainEntry, String)]) -> Result<String, String> {
    let mut prev = GENESIS.to_string();
    for (index, (entry, claimed)) in entries.iter().enumerate() {
        let expected_seq = index as u32 + 1;
        if entry.seq != expected_seq {
            return Err(format!(
                "entry {} has seq {}, expected {expected_seq}: a stage was removed or reordered",
                index + 1,
                entry.seq
            ));
        }
        if entry.prev_hash != prev {
            return Err(format!(
                "entry {} ({}) points at {} but the entry before it hashes to {prev}: a stage was removed, inserted or reordered",
                entry.seq, entry.stage, entry.prev_hash
            ));
        }
        let actual = entry.hash();
        if &actual != claimed {
            return Err(format!(
                "entry {} ({}) hashes to {actual}, not the recorded {claimed}: its stage, file name, size or hash was changed",
                entry.seq, entry.stage
            ));
        }
        prev = actual;
    }
    if entries.is_empty() {
        return Err("the chain is empty".into());
    }
    Ok(prev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<(String, String, u64, String)> {
        ["script", "storyboard", "final-cut"]
            .iter()
            .enumerate()
            .map(|(i, stage)| {
                (
                    stage.to_string(),
                    format!("{stage}.bin"),
                    100 + i as u64,
                    format!("{:064x}", i + 1),
                )
            })
            .collect()
    }

    #[test]
    fn an_extended_chain_checks_and_any_change_breaks_it() {
        let chain = extend("w1", None, &items());
        let head = check(&chain).unwrap();
        assert_eq!(head, chain[2].1);

        // Appending continues from the head.
        let more = extend("w1", Some((3, head.clone())), &items()[..1]);
        assert_eq!(more[0].0.prev_hash, head);
        assert_eq!(more[0].0.seq, 4);

        let mut dropped = chain.clone();
        dropped.remove(1);
        assert!(check(&dropped).unwrap_err().contains("seq"));

        let mut swapped = chain.clone();
        swapped.swap(0, 1);
        assert!(check(&swapped).is_err());

        let mut edited = chain.clone();
        edited[1].0.sha256 = format!("{:064x}", 99);
        assert!(check(&edited).unwrap_err().contains("was changed"));
    }

    #[test]
    fn the_canonical_text_is_stable() {
        let entry = &extend("w1", None, &items()[..1])[0].0;
        assert_eq!(
            entry.canonical_text(),
            format!("reelguard-chain-v1\nwork: w1\nseq: 1\nprev: {GENESIS}\nstage: script\nfile: script.bin\nsize: 100\nsha256: {:064x}\n", 1)
        );
    }
}
