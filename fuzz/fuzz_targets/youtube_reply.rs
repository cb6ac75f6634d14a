//! YouTube Data API replies (search.list, videos.list, durations).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard::fuzzing::youtube_reply(data);
});
