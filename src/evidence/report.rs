//! The bundle's human-readable report, in English and Chinese: one
//! self-contained HTML page (pictures by relative path into `frames/` and
//! `capture/`, so it renders inside the unpacked bundle) and the same page
//! printed to PDF by headless Chromium.

use crate::clock::video_time;
use crate::domain::Named;
use std::path::Path;

use anyhow::Context as _;

use super::bundle::Claim;
use super::chromium::{self, Output};
use crate::provenance::package::Files;

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn row(en: &str, zh: &str, value: &str) -> String {
    format!(
        "<tr><th>{en}<br><span class=zh>{zh}</span></th><td>{}</td></tr>\n",
        esc(value)
    )
}

/// The report as one HTML page.
pub fn render_html(claim: &Claim) -> String {
    let owner = claim
        .work_owner
        .clone()
        .or_else(|| claim.owner.name.clone())
        .unwrap_or_else(|| "not stated / 未填写".into());
    let mut html = String::new();
    html.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <title>Evidence report / 侵权取证报告</title>\n<style>\n\
         body{font-family:'DejaVu Sans','Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;margin:32px;color:#222;font-size:14px}\n\
         h1{font-size:24px;margin-bottom:4px} h2{font-size:18px;border-bottom:2px solid #b22;padding-bottom:4px;margin-top:28px}\n\
         .zh{color:#555;font-size:12px} table{border-collapse:collapse;width:100%}\n\
         th{text-align:left;vertical-align:top;width:210px;padding:5px;background:#f4f4f4;border:1px solid #ddd}\n\
         td{padding:5px;border:1px solid #ddd;overflow-wrap:anywhere} img{max-width:100%;border:1px solid #ccc}\n\
         code{font-size:12px;white-space:nowrap} td code{white-space:normal} .note{color:#8a5a00}\n\
         figure{margin:12px 0} figcaption{font-size:12px}\n\
         @page{size:A4;margin:14mm} @media print{body{margin:0}}\n</style></head><body>\n",
    );
    if let Some(notice) = super::takedown::draft_notice(claim) {
        html.push_str(&format!(
            "<p id=draft style=\"border:3px solid #b22;padding:8px;font-weight:bold;color:#b22\">{}</p>\n",
            esc(&notice).replace('\n', "<br>")
        ));
    }
    html.push_str(&format!(
        "<h1>Evidence of copyright infringement</h1>\n<div class=zh style=\"font-size:18px\">视频侵权取证报告</div>\n\
         <p>The upload below copies the registered work <b>{}</b>. The page was captured by reelguard and sealed with an RFC 3161 trusted timestamp; \
         every file of this bundle is listed with its SHA-256 in <code>manifest.json</code>, which is timestamped too.</p>\n\
         <p class=zh>下列上传视频复制了登记作品《{}》。reelguard 已对该页面取证，并加盖 RFC 3161 可信时间戳；证据包内每个文件的 SHA-256 均列于已加盖时间戳的 <code>manifest.json</code>。</p>\n",
        esc(&claim.work_title),
        esc(&claim.work_title)
    ));

    html.push_str("<h2>The infringing upload <span class=zh>侵权视频</span></h2>\n<table>\n");
    html.push_str(&row("URL", "链接", &claim.upload_url));
    html.push_str(&row("Platform", "平台", &claim.platform));
    html.push_str(&row("Uploader", "上传者", &claim.uploader));
    html.push_str(&row("Title", "标题", &claim.upload_title));
    html.push_str(&row(
        "Published",
        "发布时间",
        claim.published_at.as_deref().unwrap_or("unknown / 未知"),
    ));
    html.push_str(&row("Found", "发现时间", &claim.found_at));
    html.push_str("</table>\n");

    html.push_str("<h2>The original work <span class=zh>原作品</span></h2>\n<table>\n");
    html.push_str(&row("Title", "作品名称", &claim.work_title));
    html.push_str(&row("Owner", "权利人", &owner));
    html.push_str(&row("Registered", "登记时间", &claim.work_registered_at));
    html.push_str(&row(
        "SHA-256 of the original",
        "原始文件 SHA-256",
        &claim.work_sha256,
    ));
    if let Some(rights) = &claim.rights_statement {
        html.push_str(&row("Rights", "权利声明", rights));
    }
    html.push_str(&row("Work id", "作品编号", &claim.work_id));
    html.push_str("</table>\n");

    html.push_str("<h2>What was copied <span class=zh>复制内容</span></h2>\n<table>\n");
    html.push_str(&row("Match", "匹配编号", &claim.match_id));
    html.push_str(&row(
        "Score (0–1)",
        "相似度",
        &format!("{:.3}", claim.score),
    ));
    html.push_str(&row(
        "Review status",
        "审核状态",
        &format!("{} / {}", claim.status.name(), claim.status.chinese()),
    ));
    for (i, s) in claim.segments.iter().enumerate() {
        html.push_str(&row(
            &format!("Segment {}", i + 1),
            &format!("片段 {}", i + 1),
            &format!(
                "upload {:.1}–{:.1} s ⇔ work {:.1}–{:.1} s (score {:.2}, {} frames) / 上传视频第 {:.0}–{:.0} 秒 对应 原作品第 {:.0}–{:.0} 秒",
                s.query_start_s, s.query_end_s, s.work_start_s, s.work_end_s, s.score, s.matched_frames,
                s.query_start_s, s.query_end_s, s.work_start_s, s.work_end_s
            ),
        ));
    }
    html.push_str("</table>\n");
    let has = |path: &str| claim.captured_files.iter().any(|f| f.path == path);
    if has("frames/timeline.png") {
        html.push_str("<p>Timeline: which seconds of the upload (across) copy which seconds of the work (up). <span class=zh>时间对应图：横轴为上传视频时间，纵轴为原作品时间。</span></p>\n<img src=\"frames/timeline.png\" alt=\"timeline\">\n");
    }
    let pairs: Vec<_> = claim
        .frame_pairs
        .iter()
        .filter(|pair| has(&pair.file))
        .collect();
    if !pairs.is_empty() {
        html.push_str("<p>Matched frames: the work on the left, the upload on the right. <span class=zh>匹配画面：左为原作品，右为上传视频。</span></p>\n");
        for (i, pair) in pairs.iter().enumerate() {
            let (work, upload) = (video_time(pair.work_s), video_time(pair.upload_s));
            html.push_str(&format!(
                "<figure><img src=\"{}\" alt=\"frame pair {n}: the work at {work} (left), the upload at {upload} (right)\">\n\
                 <figcaption>Pair {n}: left, the work at {work}; right, the upload at {upload}. \
                 <span class=zh>第 {n} 组：左为原作品 {work}，右为上传视频 {upload}。</span></figcaption></figure>\n",
                esc(&pair.file),
                n = i + 1,
            ));
        }
    }

    html.push_str("<h2>Capture <span class=zh>取证</span></h2>\n<table>\n");
    html.push_str(&row("Captured at", "取证时间", &claim.captured_at));
    html.push_str(&row(
        "RFC 3161 timestamp",
        "可信时间戳",
        &claim.capture_stamp_summary(),
    ));
    html.push_str(&row(
        "Capture manifest SHA-256",
        "取证清单 SHA-256",
        &claim.capture_manifest_sha256,
    ));
    html.push_str("</table>\n");
    if has("capture/screenshot.png") {
        html.push_str("<p>The page as shown in a browser at capture time. <span class=zh>取证时浏览器中显示的页面。</span></p>\n<p><img src=\"capture/screenshot.png\" alt=\"screenshot\" style=\"max-height:900px\"></p>\n");
    }
    for note in &claim.capture_notes {
        html.push_str(&format!("<p class=note>Note: {}</p>\n", esc(note)));
    }
    html.push_str(
        "<table>\n<tr><th>File <span class=zh>文件</span></th><th>Bytes <span class=zh>字节</span></th><th>SHA-256</th></tr>\n",
    );
    for file in &claim.captured_files {
        html.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>\n",
            esc(&file.path),
            file.size,
            esc(&file.sha256)
        ));
    }
    html.push_str("</table>\n");

    if !claim.locations.is_empty() {
        html.push_str(
            "<h2>The same upload at other addresses <span class=zh>同一视频的其他地址</span></h2>\n\
             <p>The same upload was found at these further URLs; each one captured is in the bundle under its own folder, \
             with its own capture manifest and timestamp. <span class=zh>同一视频还出现在下列地址；已取证的地址各有独立的取证清单与时间戳，存放于证据包对应目录。</span></p>\n",
        );
        for (i, location) in claim.locations.iter().enumerate() {
            html.push_str(&format!(
                "<h3>Location {n} <span class=zh>地址 {n}</span></h3>\n<table>\n",
                n = i + 2
            ));
            html.push_str(&row("URL", "链接", &location.url));
            html.push_str(&row("Platform", "平台", &location.platform));
            html.push_str(&row("Uploader", "上传者", &location.uploader));
            html.push_str(&row("Title", "标题", &location.title));
            match &location.prefix {
                Some(prefix) => {
                    html.push_str(&row(
                        "Captured at",
                        "取证时间",
                        location.captured_at.as_deref().unwrap_or_default(),
                    ));
                    html.push_str(&row(
                        "RFC 3161 timestamp",
                        "可信时间戳",
                        &location
                            .capture_tsa
                            .as_ref()
                            .map(|(time, tsa)| format!("{time}, TSA {tsa}"))
                            .unwrap_or_else(|| "not timestamped / 未加盖时间戳".into()),
                    ));
                    html.push_str(&row(
                        "Capture manifest SHA-256",
                        "取证清单 SHA-256",
                        location
                            .capture_manifest_sha256
                            .as_deref()
                            .unwrap_or_default(),
                    ));
                    html.push_str(&row("Files in the bundle", "证据包内目录", prefix));
                }
                None => html.push_str(&row(
                    "Capture",
                    "取证",
                    &format!(
                        "{}: not in this bundle / 尚未取证，未收入本证据包",
                        location.capture_state.name()
                    ),
                )),
            }
            html.push_str("</table>\n");
            if let (Some(prefix), true) = (&location.prefix, location.has_screenshot) {
                html.push_str(&format!(
                    "<p><img src=\"{}capture/screenshot.png\" alt=\"screenshot of location {}\" style=\"max-height:600px\"></p>\n",
                    esc(prefix),
                    i + 2
                ));
            }
        }
    }

    if !claim.history.is_empty() {
        html.push_str("<h2>Review history <span class=zh>审核记录</span></h2>\n<table>\n");
        for change in &claim.history {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{} / {} → {} / {}</td><td>{}</td></tr>\n",
                esc(&crate::clock::to_seconds(change.at)),
                change.from.name(),
                change.from.chinese(),
                change.to.name(),
                change.to.chinese(),
                esc(change.note.as_deref().unwrap_or(""))
            ));
        }
        html.push_str("</table>\n");
    }

    html.push_str(
        "<h2>How to check <span class=zh>如何核验</span></h2>\n\
         <p><code>reelguard verify claim.zip</code>, or without reelguard: <code>sha256sum -c SHA256SUMS</code> and \
         <code>openssl ts -verify</code> as shown in <code>VERIFY.md</code>.</p>\n\
         <p class=zh>使用 <code>reelguard verify claim.zip</code> 核验；或不依赖 reelguard：按 <code>VERIFY.md</code> 运行 \
         <code>sha256sum -c SHA256SUMS</code> 与 <code>openssl ts -verify</code>。</p>\n",
    );
    html.push_str(&format!(
        "<p class=zh>Exported {} by reelguard {}.</p>\n</body></html>\n",
        esc(&claim.exported_at),
        env!("CARGO_PKG_VERSION")
    ));
    html
}

/// Prints the report to PDF with headless Chromium, next to the pictures it shows.
pub async fn render_pdf(
    html: &str,
    files: &Files,
    chromium_path: Option<&Path>,
    timeout_s: f64,
) -> anyhow::Result<Vec<u8>> {
    let binary = chromium::find(chromium_path).context(
        "chromium not installed (scripts/setup.sh installs it; or set evidence.chromium)",
    )?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    for (path, bytes) in files {
        let shown = ["frames/", "capture/", "locations/"]
            .iter()
            .any(|folder| path.starts_with(folder));
        if path.ends_with(".png") && shown {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().expect("bundle paths have a parent"))?;
            std::fs::write(&file, bytes)?;
        }
    }
    let page = dir.path().join("report.html");
    std::fs::write(&page, html)?;
    let url = url::Url::from_file_path(&page)
        .map_err(|_| anyhow::anyhow!("{} is not an absolute path", page.display()))?;
    chromium::render(
        &binary,
        url.as_str(),
        Output::Pdf,
        &dir.path().join("report.pdf"),
        timeout_s,
        chromium::Network::Local,
    )
    .await
}
