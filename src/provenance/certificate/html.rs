//! The HTML certificate: one self-contained page (inline CSS, the QR code as
//! inline SVG), printable on A4. Every user string goes through [`escape`].

use super::{
    format_size, qr_payload, stage_label, text, CertificateData, CertificateStage, QrModules,
};

const STYLE: &str = r#"
:root { --navy: #1d3a5f; --ink: #1f2328; --muted: #5f6770; --rule: #d3dae3; --panel: #f3f6fa; --amber: #9a5800; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f5; color: var(--ink);
  font: 14px/1.5 "DejaVu Sans", "Noto Sans", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif; }
.certificate { max-width: 210mm; margin: 24px auto; padding: 36px 44px; background: #fff;
  border: 3px double var(--navy); overflow-wrap: anywhere; }
h1 { margin: 0; color: var(--navy); font-size: 26px; line-height: 1.25; }
h1 span { display: block; font-size: 19px; }
.subtitle { margin: 4px 0 0; color: var(--muted); font-size: 11px; }
hr { border: 0; border-top: 1.5px solid var(--navy); margin: 12px 0 18px; }
h2 { color: var(--navy); font-size: 15px; margin: 22px 0 6px; }
dl.fields { display: grid; grid-template-columns: 150px 1fr; gap: 6px 12px; margin: 0; }
dt { color: var(--muted); font-size: 11px; line-height: 1.35; }
dt span { display: block; }
dd { margin: 0; }
dd.title { font-weight: bold; font-size: 16px; }
.rights { white-space: pre-wrap; }
.none { color: var(--muted); }
code, .hash { font-family: "DejaVu Sans Mono", "Noto Sans Mono", monospace; }
.hash { word-break: break-all; font-size: 12px; }
.panel { display: flex; gap: 18px; align-items: flex-start; background: var(--panel);
  border: 1px solid var(--rule); padding: 14px; }
.qr { flex: 0 0 auto; width: 180px; text-align: center; color: var(--muted); font-size: 10px; }
.qr svg { display: block; width: 180px; height: 180px; }
.qr-error { color: var(--amber); }
.head { flex: 1 1 auto; min-width: 0; }
.label { color: var(--muted); font-size: 11px; margin-top: 6px; }
.pending { color: var(--amber); font-weight: bold; }
.draft { margin: 0 0 16px; padding: 8px 12px; border: 2px solid var(--amber); color: var(--amber);
  font-size: 16px; text-align: center; }
.note { color: var(--muted); font-size: 11px; margin: 8px 0 0; }
.verify p { margin: 4px 0; }
.verify code { display: block; margin: 4px 0 4px 16px; font-size: 12px; word-break: break-all; }
details { margin-top: 6px; font-size: 11px; }
details pre { white-space: pre-wrap; word-break: break-all; }
table { width: 100%; border-collapse: collapse; font-size: 12px; }
th { background: #e4ebf3; color: var(--navy); text-align: left; vertical-align: top; padding: 6px; }
th span, td .zh, td .small { display: block; font-weight: normal; }
.small { color: var(--muted); font-size: 11px; }
td { padding: 6px; vertical-align: top; border-bottom: 1px solid var(--rule); }
tbody tr:nth-child(even) { background: #f8f9fb; }
td.seq { color: var(--muted); width: 28px; }
td .hash { display: block; font-size: 11px; }
footer { margin-top: 18px; color: var(--muted); font-size: 11px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { background: #fff; }
  .certificate { margin: 0; max-width: none; border: 0; padding: 0; }
  tr { break-inside: avoid; }
  .panel { break-inside: avoid; }
}
"#;

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The QR code as an SVG element, one path of horizontal runs.
fn qr_svg(qr: &QrModules) -> String {
    let quiet = QrModules::QUIET_ZONE;
    let side = qr.width + 2 * quiet;
    let path: String = qr
        .dark_runs()
        .into_iter()
        .map(|(x, y, len)| format!("M{} {}h{len}v1h-{len}z", x + quiet, y + quiet))
        .collect();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\" role=\"img\" \
         aria-label=\"QR code: chain head and how to verify\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    )
}

/// A field's value, or "not stated" when it is missing or blank.
fn optional(value: Option<&str>) -> String {
    match value {
        Some(value) if !value.trim().is_empty() => escape(value),
        _ => format!("<span class=\"none\">{}</span>", escape(text::NOT_STATED)),
    }
}

/// A row of the fields list; `class` may be empty.
fn field(out: &mut String, en: &str, zh: &str, class: &str, value: &str) {
    let class = if class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{class}\"")
    };
    out.push_str(&format!(
        "<dt>{en}<span lang=\"zh-Hans\">{zh}</span></dt><dd{class}>{value}</dd>\n"
    ));
}

fn pending() -> String {
    format!(
        "<span class=\"pending\">{} <span lang=\"zh-Hans\">/ {}</span></span>",
        text::PENDING_EN,
        text::PENDING_ZH
    )
}

fn stage_row(stage: &CertificateStage) -> String {
    let name = match stage_label(&stage.stage) {
        Some((en, zh)) => {
            format!("<strong>{en}</strong><span class=\"zh\" lang=\"zh-Hans\">{zh}</span>")
        }
        None => format!("<strong>{}</strong>", escape(&stage.stage)),
    };
    let mut stamp = match &stage.tsa_time {
        Some(time) => escape(time),
        None => pending(),
    };
    if let Some(tsa) = &stage.tsa_name {
        stamp.push_str(&format!("<span class=\"small\">{}</span>", escape(tsa)));
    }
    if let Some(serial) = &stage.tsa_serial {
        stamp.push_str(&format!(
            "<span class=\"small\">Serial / 序列号 <code>{}</code></span>",
            escape(serial)
        ));
    }
    format!(
        "<tr><td class=\"seq\">{seq}</td><td>{name}</td>\
         <td>{file}<span class=\"small\">{size}</span><code class=\"hash\">{hash}</code></td>\
         <td>{stamp}</td></tr>\n",
        seq = stage.seq,
        file = escape(&stage.file_name),
        size = escape(&format_size(stage.size_bytes)),
        hash = escape(&stage.sha256),
    )
}

/// The whole page. `qr` is the encoded QR payload, or why it could not be
/// encoded (shown in its place).
pub(super) fn render(data: &CertificateData, qr: Result<QrModules, String>) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} — {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <main class=\"certificate\">\n",
        text::TITLE_EN,
        escape(&data.title)
    ));
    if let Some(draft) = super::Draft::of(data) {
        out.push_str(&format!(
            "<p class=\"draft\"><strong>{}</strong><br><strong lang=\"zh-Hans\">{}</strong>\
             <br><span class=\"small\">{}</span></p>\n",
            escape(&draft.english()),
            escape(&draft.chinese()),
            escape(draft.advice())
        ));
    }
    out.push_str(&format!(
        "<header><h1>{}<span lang=\"zh-Hans\">{}</span></h1>\n<p class=\"subtitle\">{}</p></header>\n<hr>\n",
        text::TITLE_EN,
        text::TITLE_ZH,
        text::SUBTITLE
    ));

    out.push_str("<dl class=\"fields\">\n");
    field(
        &mut out,
        "Work title",
        "作品名称",
        "title",
        &escape(&data.title),
    );
    let id = format!("<code>{}</code>", escape(&data.work_id));
    field(&mut out, "Work ID", "作品编号", "", &id);
    let owner = optional(data.owner_name.as_deref());
    field(&mut out, "Owner", "权利人", "", &owner);
    let contact = optional(data.owner_contact.as_deref());
    field(&mut out, "Contact", "联系方式", "", &contact);
    field(
        &mut out,
        "Registered",
        "登记时间",
        "",
        &escape(&data.registered_at),
    );
    let rights = optional(data.rights_statement.as_deref());
    field(&mut out, "Rights statement", "权利声明", "rights", &rights);
    out.push_str("</dl>\n");

    let qr_html = match qr {
        Ok(qr) => qr_svg(&qr),
        Err(reason) => format!(
            "<p class=\"qr-error\">The QR code could not be made: {}</p>",
            escape(&reason)
        ),
    };
    let head_time = match &data.chain_head_time {
        Some(time) => {
            let tsa = data
                .chain_head_tsa
                .as_deref()
                .map(|tsa| format!("<span class=\"small\"> · {}</span>", escape(tsa)))
                .unwrap_or_default();
            format!("{}{tsa}", escape(time))
        }
        None => pending(),
    };
    let count = data.stages.len();
    let timestamped = data.stages.iter().filter(|s| s.tsa_time.is_some()).count();
    out.push_str(&format!(
        "<h2>Chain head / <span lang=\"zh-Hans\">存证链头</span></h2>\n\
         <section class=\"panel\">\n\
         <div class=\"qr\">{qr_html}Chain head and how to verify<br><span lang=\"zh-Hans\">扫码查看链头与验证方法</span></div>\n\
         <div class=\"head\">\n\
         <div class=\"label\">SHA-256</div><div class=\"hash\">{head}</div>\n\
         <div class=\"label\">Trusted timestamp / 可信时间戳</div><div>{head_time}</div>\n\
         <div class=\"label\">Stages / 创作阶段</div>\
         <div>{count} stages, {timestamped} timestamped · 共 {count} 个阶段，{timestamped} 个已加盖时间戳</div>\n\
         <p class=\"note\">{note}</p>\n\
         <details><summary>QR code content / 二维码内容</summary><pre>{payload}</pre></details>\n\
         </div>\n</section>\n",
        head = escape(&data.chain_head_sha256),
        note = text::HEAD_NOTE,
        payload = escape(&qr_payload(data)),
    ));

    out.push_str(&format!(
        "<h2>Creation stages / <span lang=\"zh-Hans\">创作阶段</span> ({count})</h2>\n\
         <table>\n<thead><tr><th>#</th><th>Stage<span lang=\"zh-Hans\">阶段</span></th>\
         <th>File · size · SHA-256<span lang=\"zh-Hans\">文件 · 大小 · 哈希值</span></th>\
         <th>Trusted timestamp<span lang=\"zh-Hans\">可信时间戳</span></th></tr></thead>\n<tbody>\n"
    ));
    for stage in &data.stages {
        out.push_str(&stage_row(stage));
    }
    out.push_str("</tbody>\n</table>\n");

    let [reelguard_cmd, openssl_cmd] = super::verify_commands(data);
    out.push_str(&format!(
        "<section class=\"verify\"><h2>How to verify / <span lang=\"zh-Hans\">如何验证</span></h2>\n\
         <p>{verify_en}</p>\n<code class=\"command\">{reelguard_cmd}</code>\n<code class=\"command\">{openssl_cmd}</code>\n\
         <p lang=\"zh-Hans\">{verify_zh}</p></section>\n",
        verify_en = text::VERIFY_EN,
        reelguard_cmd = escape(&reelguard_cmd),
        openssl_cmd = escape(&openssl_cmd),
        verify_zh = text::VERIFY_ZH,
    ));
    out.push_str(&format!(
        "<footer>{}</footer>\n</main>\n</body>\n</html>\n",
        text::CLOSING
    ));
    out
}
