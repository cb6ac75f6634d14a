//! Config files.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard::fuzzing::config(data);
});
