//! HTML pages as a stranger serves them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard::fuzzing::page(data);
});
