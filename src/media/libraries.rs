//! Which FFmpeg this binary runs on (`reelguard doctor` shows it).

use std::ffi::CStr;

use ffmpeg::codec::Id;
use ffmpeg_next as ffmpeg;

/// The FFmpeg libraries loaded at run time.
#[derive(Clone, Debug)]
pub struct Libraries {
    /// FFmpeg's release, e.g. `5.1.6-0+deb12u1`.
    pub release: String,
    /// Each library reelguard uses with its version, e.g. `("libavcodec", "59.37.100")`.
    pub versions: Vec<(&'static str, String)>,
    /// Common upload codecs this build cannot decode, e.g. `["AV1"]`.
    pub missing_decoders: Vec<&'static str>,
}

/// The codecs re-uploads come in, by the name people know them.
const UPLOAD_CODECS: [(Id, &str); 5] = [
    (Id::H264, "H.264"),
    (Id::HEVC, "HEVC"),
    (Id::VP8, "VP8"),
    (Id::VP9, "VP9"),
    (Id::AV1, "AV1"),
];

/// Loads FFmpeg and says which libraries and decoders it has.
pub fn libraries() -> Result<Libraries, String> {
    ffmpeg::init().map_err(|e| format!("FFmpeg does not initialise: {e}"))?;
    // SAFETY: av_version_info returns a pointer to a static NUL-terminated string.
    let release = unsafe { CStr::from_ptr(ffmpeg::ffi::av_version_info()) }
        .to_string_lossy()
        .into_owned();
    let versions = vec![
        ("libavutil", dotted(ffmpeg::util::version())),
        ("libavcodec", dotted(ffmpeg::codec::version())),
        ("libavformat", dotted(ffmpeg::format::version())),
        ("libswscale", dotted(ffmpeg::software::scaling::version())),
    ];
    let missing_decoders = UPLOAD_CODECS
        .iter()
        .filter(|(id, _)| ffmpeg::decoder::find(*id).is_none())
        .map(|(_, name)| *name)
        .collect();
    Ok(Libraries {
        release,
        versions,
        missing_decoders,
    })
}

/// FFmpeg's packed version (major << 16 | minor << 8 | micro) as `59.37.100`.
fn dotted(version: u32) -> String {
    format!(
        "{}.{}.{}",
        version >> 16,
        (version >> 8) & 0xff,
        version & 0xff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_unpacked_as_ffmpeg_prints_them() {
        assert_eq!(dotted((59 << 16) | (37 << 8) | 100), "59.37.100");
    }

    #[test]
    fn the_linked_ffmpeg_names_its_release_and_libraries() {
        let libraries = libraries().expect("FFmpeg loads");
        assert!(!libraries.release.is_empty());
        assert_eq!(libraries.versions.len(), 4);
        assert!(
            !libraries.missing_decoders.contains(&"H.264"),
            "the tests' clips need H.264"
        );
    }
}
