//! Evidence bundles and provenance packages (zip files) sent to `verify`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard::fuzzing::archive(data);
});
