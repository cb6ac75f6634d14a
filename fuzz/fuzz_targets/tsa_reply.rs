//! RFC 3161 replies and tokens as a TSA (or a forger) sends them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard::fuzzing::tsa_reply(data);
});
