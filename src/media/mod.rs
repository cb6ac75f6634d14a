//! Decoding untrusted video files with FFmpeg into small greyscale samples.
//!
//! The only module that touches FFmpeg. Frames are decoded linearly (seeking
//! is far slower) with the decoder's frame threads and without the in-loop
//! deblocking filter, and only the frames that become samples are converted,
//! by swscale, straight to a small greyscale picture. Limits on size,
//! duration and decode time protect the caller from hostile files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg_next as ffmpeg;
use image::GrayImage;

pub mod libraries;

/// Limits applied to every file before and while it is decoded.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeLimits {
    /// Smallest accepted width and height, in pixels.
    pub min_side: u32,
    /// Largest accepted width and height, in pixels.
    pub max_side: u32,
    /// Longest accepted duration, in seconds.
    pub max_duration_s: f64,
    /// Longest time one file may take to decode, in seconds.
    pub max_decode_s: f64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            min_side: 16,
            max_side: 8192,
            max_duration_s: 6.0 * 3600.0,
            max_decode_s: 1800.0,
        }
    }
}

impl DecodeLimits {
    /// Checks `[limits]`: every number finite and in range, naming the key,
    /// the value and the range.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::bounds::{float, int, WEEK_S};
        int("limits.min_side", self.min_side, 1..=65_536, "pixels")?;
        int("limits.max_side", self.max_side, 1..=65_536, "pixels")?;
        if self.min_side > self.max_side {
            anyhow::bail!(
                "limits.min_side = {}, max_side = {}: need min_side <= max_side",
                self.min_side,
                self.max_side
            );
        }
        float(
            "limits.max_duration_s",
            self.max_duration_s,
            1.0..=WEEK_S,
            "seconds",
        )?;
        float(
            "limits.max_decode_s",
            self.max_decode_s,
            1.0..=86_400.0,
            "seconds",
        )?;
        Ok(())
    }
}

/// Why a file could not be read as a video. Every variant is a problem with
/// the input, not with reelguard.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{path}: no such file")]
    NotFound { path: PathBuf },
    #[error("{path}: is a directory, not a video file")]
    IsDirectory { path: PathBuf },
    #[error("{path}: cannot be read: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the file is empty (0 bytes)")]
    Empty { path: PathBuf },
    #[error("{path}: not a video file FFmpeg can read ({reason})")]
    NotAVideo { path: PathBuf, reason: String },
    #[error("{path}: has no video stream ({found}); give a file with pictures")]
    NoVideoStream { path: PathBuf, found: String },
    #[error("{path}: video is {width}x{height}, smaller than the {min}x{min} minimum")]
    TooSmall {
        path: PathBuf,
        width: u32,
        height: u32,
        min: u32,
    },
    #[error(
        "{path}: video is {width}x{height}, larger than the {max}x{max} limit (limits.max_side)"
    )]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        max: u32,
    },
    #[error("{path}: video lasts {duration_s:.0} s, longer than the {max_s:.0} s limit (limits.max_duration_s)")]
    TooLong {
        path: PathBuf,
        duration_s: f64,
        max_s: f64,
    },
    #[error("{path}: no {codec} decoder in this FFmpeg build ({reason})")]
    NoDecoder {
        path: PathBuf,
        codec: String,
        reason: String,
    },
    #[error("{path}: no picture could be decoded ({reason}); the file is corrupt")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path}: truncated: the header declares {declared_s:.1} s but only {decoded_s:.1} s can be decoded")]
    Truncated {
        path: PathBuf,
        declared_s: f64,
        decoded_s: f64,
    },
    #[error("{path}: decoding took longer than {limit_s:.0} s (limits.max_decode_s)")]
    Timeout { path: PathBuf, limit_s: f64 },
    #[error("{path}: frame at {at_s:.1} s is {width}x{height}, outside the {min}..{max} pixels per side the limits allow (the header said {header_width}x{header_height})")]
    FrameOutOfBounds {
        path: PathBuf,
        at_s: f64,
        width: u32,
        height: u32,
        header_width: u32,
        header_height: u32,
        min: u32,
        max: u32,
    },
    #[error("{path}: the frame timestamps jump from {from_s:.1} s to {to_s:.1} s; a gap over {MAX_FRAME_GAP_S:.0} s is not a video (a file made to keep the matcher busy?)")]
    TimestampJump {
        path: PathBuf,
        from_s: f64,
        to_s: f64,
    },
}

/// Longest gap between two consecutive frames of a video, in seconds.
/// Every sample time in a gap shows the frame before it, so a few frames
/// hours apart would cost as much matching as hours of video.
pub const MAX_FRAME_GAP_S: f64 = 600.0;

impl DecodeLimits {
    /// Checks one decoded frame's own size (a stream may change size after
    /// its header): the limits hold on the data.
    fn check_frame(
        &self,
        path: &Path,
        frame: &ffmpeg::frame::Video,
        at_s: f64,
        header: (u32, u32),
    ) -> Result<(), MediaError> {
        let (width, height) = (frame.width(), frame.height());
        if width.min(height) >= self.min_side && width.max(height) <= self.max_side {
            return Ok(());
        }
        Err(MediaError::FrameOutOfBounds {
            path: path.into(),
            at_s,
            width,
            height,
            header_width: header.0,
            header_height: header.1,
            min: self.min_side,
            max: self.max_side,
        })
    }
}

/// What the container says about the video stream.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    pub duration_s: f64,
    /// Size as displayed (after rotation).
    pub width: u32,
    pub height: u32,
    pub codec: String,
    /// Clockwise rotation applied for display, in degrees (0, 90, 180, 270).
    pub rotation: u32,
}

/// The creation time a media container records for itself (the
/// `creation_time` tag of MP4, MOV, MKV and others), when it has one. Files
/// FFmpeg cannot open have none.
pub fn container_creation_time(path: &Path) -> Option<String> {
    ffmpeg::init().ok()?;
    ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
    let input = ffmpeg::format::input(path).ok()?;
    let tag = input.metadata().get("creation_time")?.trim().to_string();
    (!tag.is_empty()).then_some(tag)
}

/// Decodes `path` and calls `on_sample` with the frame shown at each multiple
/// of `1 / sample_rate` seconds, as a greyscale picture whose longer side is
/// `analysis_side` pixels. `on_progress` gets the decoded position in seconds.
pub fn sample_video(
    path: &Path,
    sample_rate: f64,
    analysis_side: u32,
    limits: &DecodeLimits,
    mut on_sample: impl FnMut(GrayImage),
    mut on_progress: impl FnMut(f64, &VideoInfo),
) -> Result<VideoInfo, MediaError> {
    check_file(path)?;
    let mut decode = |skip_non_reference| {
        decode_samples(
            path,
            sample_rate,
            analysis_side,
            limits,
            skip_non_reference,
            &mut on_sample,
            &mut on_progress,
        )
    };
    // Non-reference frames (most B-frames) are skipped for speed; a stream
    // made only of them yields no picture that way (and no sample yet), so
    // it is decoded again in full.
    match decode(true) {
        Err(MediaError::Corrupt { .. }) => decode(false),
        result => result,
    }
}

fn decode_samples(
    path: &Path,
    sample_rate: f64,
    analysis_side: u32,
    limits: &DecodeLimits,
    skip_non_reference: bool,
    on_sample: &mut impl FnMut(GrayImage),
    on_progress: &mut impl FnMut(f64, &VideoInfo),
) -> Result<VideoInfo, MediaError> {
    ffmpeg::init().map_err(|e| MediaError::NotAVideo {
        path: path.into(),
        reason: e.to_string(),
    })?;
    ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
    let deadline = Deadline::new(path, limits);

    let mut input = ffmpeg::format::input(path).map_err(|e| MediaError::NotAVideo {
        path: path.into(),
        reason: e.to_string(),
    })?;
    let stream = input
        .streams()
        .filter(|s| s.parameters().medium() == ffmpeg::media::Type::Video)
        .find(|s| {
            !s.disposition()
                .contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC)
        })
        .ok_or_else(|| MediaError::NoVideoStream {
            path: path.into(),
            found: describe_streams(&input),
        })?;
    let stream_index = stream.index();
    let time_base = f64::from(stream.time_base());
    let rotation = display_rotation(&stream);
    let parameters = stream.parameters();
    let (coded_width, coded_height) = coded_size(&parameters);
    let codec = parameters.id();
    let (width, height) = if rotation % 180 == 90 {
        (coded_height, coded_width)
    } else {
        (coded_width, coded_height)
    };
    if width.min(height) < limits.min_side {
        return Err(MediaError::TooSmall {
            path: path.into(),
            width,
            height,
            min: limits.min_side,
        });
    }
    if width.max(height) > limits.max_side {
        return Err(MediaError::TooLarge {
            path: path.into(),
            width,
            height,
            max: limits.max_side,
        });
    }
    let stream_duration = stream.duration();
    let duration_s = if stream_duration > 0 {
        stream_duration as f64 * time_base
    } else if input.duration() > 0 {
        input.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE)
    } else {
        0.0
    };
    if duration_s > limits.max_duration_s {
        return Err(MediaError::TooLong {
            path: path.into(),
            duration_s,
            max_s: limits.max_duration_s,
        });
    }
    let mut info = VideoInfo {
        duration_s,
        width,
        height,
        codec: format!("{codec:?}").to_lowercase(),
        rotation,
    };

    let mut context =
        ffmpeg::codec::Context::from_parameters(parameters).map_err(|e| MediaError::NotAVideo {
            path: path.into(),
            reason: e.to_string(),
        })?;
    context.set_threading(ffmpeg::codec::threading::Config {
        kind: ffmpeg::codec::threading::Type::Frame,
        count: std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(4),
        ..Default::default()
    });
    let mut decoder = context.decoder();
    decoder.skip_loop_filter(ffmpeg::Discard::All);
    if skip_non_reference {
        decoder.skip_frame(ffmpeg::Discard::NonReference);
    }
    let mut decoder = decoder.video().map_err(|e| MediaError::NoDecoder {
        path: path.into(),
        codec: info.codec.clone(),
        reason: e.to_string(),
    })?;

    let mut sampler = Sampler::new(sample_rate, analysis_side, rotation);
    let mut decoded = ffmpeg::frame::Video::empty();
    let mut packet = ffmpeg::Packet::empty();
    let mut decode_errors = 0usize;
    let mut last_error = String::new();
    loop {
        deadline.check()?;
        let end_of_input = match packet.read(&mut input) {
            Ok(()) => false,
            Err(ffmpeg::Error::Eof) => true,
            Err(e) => {
                last_error = e.to_string();
                true
            }
        };
        if end_of_input {
            let _ = decoder.send_eof();
        } else if packet.stream() != stream_index {
            continue;
        } else if let Err(e) = decoder.send_packet(&packet) {
            decode_errors += 1;
            last_error = e.to_string();
        }
        while decoder.receive_frame(&mut decoded).is_ok() {
            let Some(timestamp) = decoded.timestamp().or(decoded.pts()) else {
                continue;
            };
            let time = sampler.time_of(timestamp as f64 * time_base);
            // Every limit holds on this frame before it costs anything.
            limits.check_frame(path, &decoded, time, (coded_width, coded_height))?;
            if time > limits.max_duration_s {
                return Err(MediaError::TooLong {
                    path: path.into(),
                    duration_s: time,
                    max_s: limits.max_duration_s,
                });
            }
            if sampler.last_time.is_finite() && time - sampler.last_time > MAX_FRAME_GAP_S {
                return Err(MediaError::TimestampJump {
                    path: path.into(),
                    from_s: sampler.last_time,
                    to_s: time,
                });
            }
            if sampler.wants(time) {
                let picture = sampler.convert(&decoded).map_err(|e| MediaError::Corrupt {
                    path: path.into(),
                    reason: e.to_string(),
                })?;
                sampler.emit_until(time, &picture, on_sample, &deadline)?;
            }
            sampler.last_time = time;
            on_progress(time, &info);
        }
        if end_of_input {
            break;
        }
    }

    if sampler.samples == 0 {
        let reason = if last_error.is_empty() {
            format!("{decode_errors} packets failed to decode")
        } else {
            last_error
        };
        return Err(MediaError::Corrupt {
            path: path.into(),
            reason,
        });
    }
    let decoded_s = sampler.last_time + sampler.frame_step;
    if duration_s > 2.0 && decoded_s < 0.8 * duration_s - 1.0 {
        return Err(MediaError::Truncated {
            path: path.into(),
            declared_s: duration_s,
            decoded_s,
        });
    }
    // Samples up to the declared end show the last picture.
    if let Some(last) = sampler.last_picture.take() {
        let end = duration_s.max(decoded_s);
        while (sampler.samples as f64) / sample_rate < end - 1e-6 {
            deadline.check()?;
            on_sample(last.clone());
            sampler.samples += 1;
        }
    }
    if info.duration_s <= 0.0 {
        info.duration_s = decoded_s;
    }
    Ok(info)
}

/// The width and height a stream's header states (its frames may differ).
fn coded_size(parameters: &ffmpeg::codec::Parameters) -> (u32, u32) {
    // SAFETY: reads two integers of parameters that belong to an open input.
    unsafe {
        (
            (*parameters.as_ptr()).width.max(0) as u32,
            (*parameters.as_ptr()).height.max(0) as u32,
        )
    }
}

/// `limits.max_decode_s` from the start of a decode, checked for every
/// packet read, every sample handed out and every frame converted.
struct Deadline {
    path: PathBuf,
    at: Instant,
    limit_s: f64,
}

impl Deadline {
    fn new(path: &Path, limits: &DecodeLimits) -> Deadline {
        Deadline {
            path: path.into(),
            at: Instant::now() + Duration::from_secs_f64(limits.max_decode_s),
            limit_s: limits.max_decode_s,
        }
    }

    fn check(&self) -> Result<(), MediaError> {
        if Instant::now() > self.at {
            return Err(MediaError::Timeout {
                path: self.path.clone(),
                limit_s: self.limit_s,
            });
        }
        Ok(())
    }
}

/// Checks the path before FFmpeg sees it, for clear messages.
fn check_file(path: &Path) -> Result<(), MediaError> {
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => MediaError::NotFound { path: path.into() },
        _ => MediaError::Unreadable {
            path: path.into(),
            source: e,
        },
    })?;
    if metadata.is_dir() {
        return Err(MediaError::IsDirectory { path: path.into() });
    }
    if metadata.len() == 0 {
        return Err(MediaError::Empty { path: path.into() });
    }
    std::fs::File::open(path).map_err(|e| MediaError::Unreadable {
        path: path.into(),
        source: e,
    })?;
    Ok(())
}

fn describe_streams(input: &ffmpeg::format::context::Input) -> String {
    let kinds: Vec<String> = input
        .streams()
        .map(|s| format!("{:?}", s.parameters().medium()).to_lowercase())
        .collect();
    if kinds.is_empty() {
        "no streams at all".into()
    } else {
        format!("streams: {}", kinds.join(", "))
    }
}

/// Clockwise display rotation from the stream's display matrix, snapped to
/// a multiple of 90 degrees.
fn display_rotation(stream: &ffmpeg::format::stream::Stream) -> u32 {
    for side_data in stream.side_data() {
        if side_data.kind() != ffmpeg::codec::packet::side_data::Type::DisplayMatrix {
            continue;
        }
        let data = side_data.data();
        if data.len() < 36 {
            continue;
        }
        let m: Vec<f64> = data
            .chunks_exact(4)
            .take(9)
            .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        let scale0 = m[0].hypot(m[3]);
        let scale1 = m[1].hypot(m[4]);
        if scale0 == 0.0 || scale1 == 0.0 {
            continue;
        }
        // The matrix turns the stored picture by this angle, clockwise, for
        // display (as FFmpeg's own autorotation reads it).
        let clockwise = (m[1] / scale1)
            .atan2(m[0] / scale0)
            .to_degrees()
            .rem_euclid(360.0);
        return ((clockwise / 90.0).round() as u32 % 4) * 90;
    }
    0
}

/// Picks and converts the frames that become samples.
struct Sampler {
    sample_rate: f64,
    analysis_side: u32,
    rotation: u32,
    scaler: Option<(scaling::Context, (Pixel, u32, u32))>,
    /// Time of the stream's first frame (streams may not start at zero).
    origin: Option<f64>,
    last_time: f64,
    /// Seconds between decoded frames, estimated from the first two.
    frame_step: f64,
    samples: u64,
    last_picture: Option<GrayImage>,
}

impl Sampler {
    fn new(sample_rate: f64, analysis_side: u32, rotation: u32) -> Sampler {
        Sampler {
            sample_rate,
            analysis_side,
            rotation,
            scaler: None,
            origin: None,
            last_time: f64::NEG_INFINITY,
            frame_step: 0.0,
            samples: 0,
            last_picture: None,
        }
    }

    /// Seconds since the first frame.
    fn time_of(&mut self, stream_time: f64) -> f64 {
        let origin = *self.origin.get_or_insert(stream_time);
        let time = stream_time - origin;
        if self.frame_step == 0.0 && self.last_time.is_finite() && time > self.last_time {
            self.frame_step = time - self.last_time;
        }
        time
    }

    /// Whether the frame at `time` is the first at or after a sample time.
    fn wants(&self, time: f64) -> bool {
        (self.samples as f64) / self.sample_rate <= time + 1e-6
    }

    /// Hands `picture` out for every sample time up to `time`, the deadline
    /// checked at each (the callback is where matching spends its time).
    fn emit_until(
        &mut self,
        time: f64,
        picture: &GrayImage,
        on_sample: &mut impl FnMut(GrayImage),
        deadline: &Deadline,
    ) -> Result<(), MediaError> {
        while (self.samples as f64) / self.sample_rate <= time + 1e-6 {
            deadline.check()?;
            on_sample(picture.clone());
            self.samples += 1;
        }
        self.last_picture = Some(picture.clone());
        Ok(())
    }

    fn convert(&mut self, frame: &ffmpeg::frame::Video) -> Result<GrayImage, ffmpeg::Error> {
        let source = (frame.format(), frame.width(), frame.height());
        let (width, height) = analysis_size(frame, self.analysis_side);
        let rebuild = self.scaler.as_ref().is_none_or(|(_, key)| *key != source);
        if rebuild {
            let context = scaling::Context::get(
                source.0,
                source.1,
                source.2,
                Pixel::GRAY8,
                width,
                height,
                scaling::Flags::AREA,
            )?;
            self.scaler = Some((context, source));
        }
        let (scaler, _) = self.scaler.as_mut().expect("scaler was just built");
        let mut grey = ffmpeg::frame::Video::empty();
        scaler.run(frame, &mut grey)?;
        let (out_width, out_height) = (grey.width(), grey.height());
        let stride = grey.stride(0);
        let data = grey.data(0);
        let mut pixels = Vec::with_capacity((out_width * out_height) as usize);
        for row in 0..out_height as usize {
            pixels.extend_from_slice(&data[row * stride..row * stride + out_width as usize]);
        }
        let picture = GrayImage::from_raw(out_width, out_height, pixels).expect("size matches");
        Ok(match self.rotation {
            90 => image::imageops::rotate90(&picture),
            180 => image::imageops::rotate180(&picture),
            270 => image::imageops::rotate270(&picture),
            _ => picture,
        })
    }
}

/// Size of the greyscale picture for a frame: the displayed aspect ratio
/// (honouring non-square pixels) with the longer side `side` pixels.
fn analysis_size(frame: &ffmpeg::frame::Video, side: u32) -> (u32, u32) {
    let aspect = frame.aspect_ratio();
    let pixel_aspect = if aspect.numerator() > 0 && aspect.denominator() > 0 {
        f64::from(aspect)
    } else {
        1.0
    };
    let display_width = frame.width() as f64 * pixel_aspect;
    let display_height = frame.height() as f64;
    let scale = side as f64 / display_width.max(display_height);
    let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(8);
    (even(display_width * scale), even(display_height * scale))
}

/// Colour pictures of the frames shown at `times` (seconds from the first
/// frame), each scaled so its longer side is `side` pixels, in the order of
/// `times`. For evidence (frame pairs), not for matching: decodes every
/// frame linearly up to the last time asked for, within `limits`. A time
/// past the end gets the last frame.
pub fn frames_at(
    path: &Path,
    times: &[f64],
    side: u32,
    limits: &DecodeLimits,
) -> Result<Vec<image::RgbImage>, MediaError> {
    check_file(path)?;
    let fail = |reason: String| MediaError::Corrupt {
        path: path.into(),
        reason,
    };
    ffmpeg::init().map_err(|e| fail(e.to_string()))?;
    ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
    let deadline = Deadline::new(path, limits);
    let mut input = ffmpeg::format::input(path).map_err(|e| MediaError::NotAVideo {
        path: path.into(),
        reason: e.to_string(),
    })?;
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or_else(|| MediaError::NoVideoStream {
            path: path.into(),
            found: describe_streams(&input),
        })?;
    let stream_index = stream.index();
    let time_base = f64::from(stream.time_base());
    let rotation = display_rotation(&stream);
    let context = ffmpeg::codec::Context::from_parameters(stream.parameters())
        .map_err(|e| fail(e.to_string()))?;
    let mut decoder = context.decoder().video().map_err(|e| fail(e.to_string()))?;

    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| times[*a].total_cmp(&times[*b]));
    let mut out: Vec<Option<image::RgbImage>> = vec![None; times.len()];
    let mut next = 0;
    let mut origin = None;
    let mut last: Option<image::RgbImage> = None;
    let mut decoded = ffmpeg::frame::Video::empty();
    let mut packet = ffmpeg::Packet::empty();
    let header = coded_size(&stream.parameters());
    while next < order.len() {
        deadline.check()?;
        let end = !matches!(packet.read(&mut input), Ok(()));
        if end {
            let _ = decoder.send_eof();
        } else if packet.stream() != stream_index {
            continue;
        } else {
            let _ = decoder.send_packet(&packet);
        }
        while next < order.len() && decoder.receive_frame(&mut decoded).is_ok() {
            let Some(ts) = decoded.timestamp().or(decoded.pts()) else {
                continue;
            };
            let time = ts as f64 * time_base - *origin.get_or_insert(ts as f64 * time_base);
            limits.check_frame(path, &decoded, time, header)?;
            if time + 1e-6 < times[order[next]] {
                continue;
            }
            let picture = rgb_picture(&decoded, side, rotation).map_err(|e| fail(e.to_string()))?;
            while next < order.len() && times[order[next]] <= time + 1e-6 {
                out[order[next]] = Some(picture.clone());
                next += 1;
            }
            last = Some(picture);
        }
        if end {
            break;
        }
    }
    let Some(fallback) = last.or_else(|| out.iter().flatten().next().cloned()) else {
        return Err(fail("no frame could be decoded".into()));
    };
    Ok(out
        .into_iter()
        .map(|p| p.unwrap_or_else(|| fallback.clone()))
        .collect())
}

/// One decoded frame as an RGB picture with the longer side `side`, turned
/// for display.
fn rgb_picture(
    frame: &ffmpeg::frame::Video,
    side: u32,
    rotation: u32,
) -> Result<image::RgbImage, ffmpeg::Error> {
    let (width, height) = analysis_size(frame, side);
    let mut scaler = scaling::Context::get(
        frame.format(),
        frame.width(),
        frame.height(),
        Pixel::RGB24,
        width,
        height,
        scaling::Flags::BILINEAR,
    )?;
    let mut rgb = ffmpeg::frame::Video::empty();
    scaler.run(frame, &mut rgb)?;
    let stride = rgb.stride(0);
    let row_bytes = width as usize * 3;
    let mut pixels = Vec::with_capacity(row_bytes * height as usize);
    for row in 0..height as usize {
        pixels.extend_from_slice(&rgb.data(0)[row * stride..row * stride + row_bytes]);
    }
    let picture = image::RgbImage::from_raw(width, height, pixels).expect("size matches");
    Ok(match rotation {
        90 => image::imageops::rotate90(&picture),
        180 => image::imageops::rotate180(&picture),
        270 => image::imageops::rotate270(&picture),
        _ => picture,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the `ffmpeg` tool with `args` in `dir`.
    fn ffmpeg_tool(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(args)
            .current_dir(dir)
            .status()
            .expect("the ffmpeg tool runs");
        assert!(status.success(), "ffmpeg {args:?}");
    }

    /// `out` in `dir`: the lavfi `source` through `filter`, in MJPEG with
    /// the filtered timestamps kept as they are.
    fn filtered_mjpeg(dir: &Path, source: &str, filter: &str, out: &str) {
        ffmpeg_tool(
            dir,
            &[
                "-f",
                "lavfi",
                "-i",
                source,
                "-vf",
                filter,
                "-fps_mode",
                "passthrough",
                "-c:v",
                "mjpeg",
                out,
            ],
        );
    }

    fn sample_count(path: &Path, limits: &DecodeLimits) -> Result<usize, MediaError> {
        let mut samples = 0;
        sample_video(path, 2.0, 64, limits, |_| samples += 1, |_, _| {})?;
        Ok(samples)
    }

    #[test]
    fn frames_larger_than_their_header_says_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // One second at 320x240, then one at 1600x1200: the container's
        // header states the first size only.
        for (name, size) in [("a.mjpeg", "320x240"), ("b.mjpeg", "1600x1200")] {
            let source = format!("testsrc=size={size}:rate=10:duration=1");
            ffmpeg_tool(
                dir.path(),
                &[
                    "-f", "lavfi", "-i", &source, "-c:v", "mjpeg", "-f", "mjpeg", name,
                ],
            );
        }
        let mut joined = std::fs::read(dir.path().join("a.mjpeg")).unwrap();
        joined.extend(std::fs::read(dir.path().join("b.mjpeg")).unwrap());
        std::fs::write(dir.path().join("c.mjpeg"), joined).unwrap();
        ffmpeg_tool(
            dir.path(),
            &[
                "-f",
                "mjpeg",
                "-framerate",
                "10",
                "-i",
                "c.mjpeg",
                "-c",
                "copy",
                "grows.mkv",
            ],
        );
        let path = dir.path().join("grows.mkv");
        let limits = DecodeLimits {
            max_side: 640,
            ..DecodeLimits::default()
        };
        match sample_count(&path, &limits) {
            Err(MediaError::FrameOutOfBounds {
                width: 1600,
                height: 1200,
                header_width: 320,
                header_height: 240,
                ..
            }) => {}
            other => panic!("expected the 1600x1200 frame refused, got {other:?}"),
        }
        match frames_at(&path, &[1.5], 64, &limits) {
            Err(MediaError::FrameOutOfBounds { width: 1600, .. }) => {}
            other => panic!(
                "frames_at: expected a refusal, got {:?}",
                other.map(|f| f.len())
            ),
        }
        // Within the limits the same file decodes.
        assert!(sample_count(&path, &DecodeLimits::default()).unwrap() >= 4);
    }

    #[test]
    fn timestamps_that_jump_by_hours_are_refused_before_sampling_the_gap() {
        let dir = tempfile::tempdir().unwrap();
        // Two 64x64 frames 20,000 s apart: about 1 KB, and 40,000 samples
        // if the gap were filled.
        filtered_mjpeg(
            dir.path(),
            "color=c=red:s=64x64:r=1:d=2",
            "setpts=PTS*20000",
            "jump.mkv",
        );
        let mut samples = 0;
        let result = sample_video(
            &dir.path().join("jump.mkv"),
            2.0,
            64,
            &DecodeLimits::default(),
            |_| samples += 1,
            |_, _| {},
        );
        match result {
            Err(MediaError::TimestampJump { to_s, .. }) => assert!(to_s >= 19_999.0, "{to_s}"),
            other => panic!("expected the jump refused, got {other:?}"),
        }
        assert!(
            samples <= 1,
            "{samples} samples handed out before the refusal"
        );
    }

    #[test]
    fn the_decode_deadline_holds_while_samples_are_handed_out() {
        let dir = tempfile::tempdir().unwrap();
        // Two frames 99 s apart: the 198 samples between them all show
        // the first, handed out while the second frame is decoded.
        filtered_mjpeg(
            dir.path(),
            "color=c=blue:s=64x64:r=1:d=100",
            "select='eq(n,0)+eq(n,99)'",
            "still.mkv",
        );
        let limits = DecodeLimits {
            max_decode_s: 1.0,
            ..DecodeLimits::default()
        };
        let mut samples = 0;
        let result = sample_video(
            &dir.path().join("still.mkv"),
            2.0,
            64,
            &limits,
            |_| {
                samples += 1;
                // The matcher's work on one sample, slowed down.
                std::thread::sleep(Duration::from_millis(50));
            },
            |_, _| {},
        );
        assert!(
            matches!(result, Err(MediaError::Timeout { .. })),
            "{:?} after {samples} samples",
            result.map(|i| i.duration_s)
        );
        assert!(samples < 200, "{samples}: the deadline stopped the samples");
    }
}
