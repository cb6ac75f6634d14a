//! Bad input to `register` and `match`: missing, empty, non-video, truncated,
//! audio-only, degenerate (1x1), oversized (16000x16000) files and directories.
//! Each must be refused with exit code 2 and an error on stderr that names the
//! file, never with a panic. `match` opens the database while it decodes, so
//! each runs on SQLite and on PostgreSQL. None of these needs ../shared/media.

use crate::common;

use std::path::Path;

use common::{ffmpeg, lavfi_clip, path_str, probe_video, run, scratch_dir, Backend, ENCODE};

/// An empty data dir with its database on the test's backend.
struct DataDir {
    _db: Option<reelguard::testkit::postgres::TestDatabase>,
    dir: tempfile::TempDir,
}

impl DataDir {
    /// None when the run is on PostgreSQL and those runs are off.
    fn on(backend: Backend) -> Option<DataDir> {
        let dir = scratch_dir();
        let db = common::database_for(backend, "bad_input", dir.path())?;
        Some(DataDir { _db: db, dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Two empty data dirs, one for `register` and one for `match`.
fn empty_data_dirs(backend: Backend) -> Option<[DataDir; 2]> {
    Some([DataDir::on(backend)?, DataDir::on(backend)?])
}

/// Gives `path` to both `register` and `match` (each with an empty data dir of
/// `data_dirs`) and checks that both refuse it properly.
fn assert_rejected(data_dirs: &[DataDir; 2], path: &Path) {
    let file_name = path
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned();
    for (command, data_dir) in ["register", "match"].into_iter().zip(data_dirs) {
        let mut args = vec![
            "--data-dir",
            path_str(data_dir.path()),
            command,
            path_str(path),
        ];
        if command == "register" {
            args.extend_from_slice(&["--title", "bad input"]);
        }
        let (code, stdout, stderr) = run(&args);
        let context = format!(
            "reelguard {}\nexit code: {code}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            args.join(" ")
        );
        assert!(
            !stderr.contains("panicked"),
            "reelguard panicked on bad input\n{context}"
        );
        assert_eq!(code, 2, "bad input must exit with code 2\n{context}");
        assert!(
            stderr.contains(path_str(path)) || stderr.contains(&file_name),
            "the error must name the file ({file_name})\n{context}"
        );
    }
}

/// Writes the first `percent`% of `input`'s bytes to `out`.
fn truncate_copy(input: &Path, percent: usize, out: &Path) {
    let bytes = std::fs::read(input).expect("read the clip to truncate");
    let keep = bytes.len() * percent / 100;
    std::fs::write(out, &bytes[..keep]).expect("write the truncated clip");
}

/// A 5 s 320x240 H.264 test pattern, with `extra` ffmpeg output options.
fn test_pattern_mp4(out: &Path, extra: &[&str]) {
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        "5",
    ];
    args.extend_from_slice(&ENCODE);
    args.extend_from_slice(extra);
    args.push(path_str(out));
    ffmpeg(&args);
}

on_both_backends!(missing_file);

fn missing_file(backend: Backend) {
    let Some(data_dirs) = empty_data_dirs(backend) else {
        return;
    };
    let dir = scratch_dir();
    assert_rejected(&data_dirs, &dir.path().join("does-not-exist.mp4"));
}

on_both_backends!(zero_byte_file);

fn zero_byte_file(backend: Backend) {
    let Some(data_dirs) = empty_data_dirs(backend) else {
        return;
    };
    let dir = scratch_dir();
    let path = dir.path().join("empty.mp4");
    std::fs::write(&path, b"").unwrap();
    assert_rejected(&data_dirs, &path);
}

on_both_backends!(text_file_named_mp4);

fn text_file_named_mp4(backend: Backend) {
    let Some(data_dirs) = empty_data_dirs(backend) else {
        return;
    };
    let dir = scratch_dir();
    let path = dir.path().join("notes.mp4");
    std::fs::write(
        &path,
        "This is a text file, not a video.\nSecond line.\n".repeat(50),
    )
    .unwrap();
    assert_rejected(&data_dirs, &path);
}

on_both_backends!(truncated_mp4);

fn truncated_mp4(backend: Backend) {
    // moov at the end (ffmpeg's default): the cut removes the index entirely.
    let Some(data_dirs) = empty_data_dirs(backend) else {
        return;
    };
    let dir = scratch_dir();
    let whole = dir.path().join("whole.mp4");
    test_pattern_mp4(&whole, &[]);
    let path = dir.path().join("truncated.mp4");
    truncate_copy(&whole, 40, &path);
    assert_rejected(&data_dirs, &path);
}

on_both_backends!(truncated_faststart_mp4);

fn truncated_faststart_mp4(backend: Backend) {
    // moov first: the container still opens, but most of the frames it lists are gone.
    let Some(data_dirs) = empty_data_dirs(backend) else {
        return;
    };
    let dir = scratch_dir();
    let whole = dir.path().join("whole-faststart.mp4");
    test_pattern_mp4(&whole, &["-movflags", "+faststart"]);
    let path = dir.path().join("truncated-faststart.mp4");
    truncate_copy(&whole, 40, &path);
    assert_eq!(
        probe_video(&path),
        (320, 240),
        "the truncated faststart file still opens"
    );
    assert_rejected(&data_dirs, &path);
}

on_both_backends!(audio_only_file);

fn audio_only_file(backend: Backend) {
    let Some(data_dirs) = empty_data_dirs(backend) else {
        return;
    };
    let dir = scratch_dir();
    let path = dir.path().join("audio-only.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=2",
        "-c:a",
        "aac",
        path_str(&path),
    ]);
    assert_rejected(&data_dirs, &path);
}

on_both_backends!(one_pixel_video);

fn one_pixel_video(backend: Backend) {
    let Some(data_dirs) = empty_data_dirs(backend) else {
        return;
    };
    let dir = scratch_dir();
    let path = dir.path().join("one-pixel.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:size=2x2:rate=25:duration=2",
        "-vf",
        "scale=1:1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv444p",
        path_str(&path),
    ]);
    assert_eq!(probe_video(&path), (1, 1));
    assert_rejected(&data_dirs, &path);
}

on_both_backends!(oversized_video_is_refused_from_its_dimensions);

fn oversized_video_is_refused_from_its_dimensions(backend: Backend) {
    // A YUV4MPEG2 header announcing 16000x16000 followed by a few bytes: decoding
    // one frame would need 384 MB, so the reader must refuse it from the header.
    let Some(data_dirs) = empty_data_dirs(backend) else {
        return;
    };
    let dir = scratch_dir();
    let path = dir.path().join("huge.y4m");
    std::fs::write(
        &path,
        b"YUV4MPEG2 W16000 H16000 F25:1 Ip A1:1 C420jpeg\nFRAME\n0123456789abcdef",
    )
    .unwrap();
    assert_eq!(
        probe_video(&path),
        (16000, 16000),
        "ffprobe reads the header as 16000x16000"
    );
    assert_rejected(&data_dirs, &path);

    let Some(data_dir) = DataDir::on(backend) else {
        return;
    };
    let (_, _, stderr) = run(&[
        "--data-dir",
        path_str(data_dir.path()),
        "match",
        path_str(&path),
    ]);
    assert!(
        stderr.contains("16000"),
        "the error should state the offending size\nstderr:\n{stderr}"
    );
}

on_both_backends!(directory_instead_of_file);

fn directory_instead_of_file(backend: Backend) {
    let Some(data_dirs) = empty_data_dirs(backend) else {
        return;
    };
    let dir = scratch_dir();
    let path = dir.path().join("clips");
    std::fs::create_dir(&path).unwrap();
    assert_rejected(&data_dirs, &path);
}

on_both_backends!(a_valid_clip_is_accepted);

fn a_valid_clip_is_accepted(backend: Backend) {
    // Control: the same kind of clip the bad cases start from is fine when whole,
    // so the cases above fail for the reason they test.
    let Some(data_dir) = DataDir::on(backend) else {
        return;
    };
    let dir = scratch_dir();
    let path = dir.path().join("testsrc2.mp4");
    lavfi_clip("testsrc2=size=320x240:rate=25", 3.0, &path);
    let (code, stdout, stderr) = run(&[
        "--data-dir",
        path_str(data_dir.path()),
        "match",
        path_str(&path),
        "--json",
    ]);
    assert_eq!(
        code, 0,
        "a valid clip must be accepted\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}
