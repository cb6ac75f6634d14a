//! RSS, Atom, Media RSS and YouTube channel feeds as a stranger serves them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard::fuzzing::feed(data);
});
