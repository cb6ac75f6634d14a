//! Takedown texts filled from the work, the match and the owner in the
//! config: a DMCA notice with the six elements of 17 U.S.C. 512(c)(3)(A),
//! the fields of YouTube's copyright webform and of TikTok's IP
//! infringement report, and a plain email to the platform (English, then
//! Chinese). A missing owner detail is left as a bracketed gap to fill in.

use super::bundle::Claim;

/// The files of `takedown/` by name. Until a reviewer has confirmed the
/// match they are drafts: marked so at the top, and unsigned.
pub fn takedown_files(claim: &Claim) -> Vec<(String, String)> {
    let draft = draft_notice(claim);
    vec![
        ("takedown/dmca-notice.txt".into(), dmca_notice(claim)),
        (
            "takedown/youtube-webform.txt".into(),
            youtube_webform(claim),
        ),
        ("takedown/tiktok-ip-report.txt".into(), tiktok_report(claim)),
        ("takedown/email.txt".into(), email(claim)),
    ]
    .into_iter()
    .map(|(path, text)| match &draft {
        Some(notice) => (path, format!("{notice}\n\n{text}")),
        None => (path, text),
    })
    .collect()
}

/// The notice at the top of a draft (a match not confirmed by a reviewer),
/// in English and Chinese; `None` once the match is confirmed.
pub fn draft_notice(claim: &Claim) -> Option<String> {
    (!claim.is_confirmed()).then(|| {
        format!(
            "DRAFT - NOT A SWORN NOTICE. Match {id} is {status}: no reviewer has confirmed it, so this text is \
             unsigned and must not be sent. Confirm the match (`reelguard matches confirm {id}` or the dashboard) \
             and export the bundle again.\n             草稿，并非正式通知：匹配 {id} 尚未经审核确认，本文本未签署，请勿发送。确认该匹配后请重新导出证据包。",
            id = claim.match_id,
            status = claim.status,
        )
    })
}

/// The signature: the signer's name once the match is confirmed.
fn signature(claim: &Claim, name: &str) -> String {
    if claim.is_confirmed() {
        name.to_string()
    } else {
        "[not signed: DRAFT, the match is not confirmed]".to_string()
    }
}

fn or_gap(value: &Option<String>, what: &str) -> String {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => format!("[{what}: set it in the config's [owner] section]"),
    }
}

struct Owner {
    name: String,
    email: String,
    address: String,
    phone: String,
}

/// Who signs and is contacted: `[owner]` in the config (the rights holder
/// or their agent), else the work's recorded owner.
fn owner(claim: &Claim) -> Owner {
    let name = claim
        .owner
        .name
        .clone()
        .or_else(|| claim.work_owner.clone());
    Owner {
        name: or_gap(&name, "owner.name"),
        email: or_gap(&claim.owner.email, "owner.email"),
        address: or_gap(&claim.owner.address, "owner.address"),
        phone: or_gap(&claim.owner.phone, "owner.phone"),
    }
}

fn copied_parts(claim: &Claim) -> String {
    claim
        .segments
        .iter()
        .map(|s| {
            format!(
                "  - seconds {:.0}-{:.0} of the upload copy seconds {:.0}-{:.0} of the work",
                s.query_start_s, s.query_end_s, s.work_start_s, s.work_end_s
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The further URLs of the same upload, one per line ("" when none), for
/// the identification of the infringing material.
fn further_urls(claim: &Claim) -> String {
    claim
        .locations
        .iter()
        .map(|l| {
            format!(
                "\n  {} ({}, uploaded by \"{}\")",
                l.url, l.platform, l.uploader
            )
        })
        .collect()
}

/// "The same video is also at:" and the further URLs ("" when none).
fn also_at(claim: &Claim) -> String {
    if claim.locations.is_empty() {
        String::new()
    } else {
        format!("The same video is also at:{}\n", further_urls(claim))
    }
}

/// The DMCA notice; each statutory element under its own heading.
pub fn dmca_notice(claim: &Claim) -> String {
    let o = owner(claim);
    format!(
        "NOTICE OF CLAIMED INFRINGEMENT (17 U.S.C. 512(c)(3))\n\
         To: the designated copyright agent of {platform}\n\
         Date: {date}\n\n\
         (ii) Identification of the copyrighted work claimed to have been infringed:\n\
         The audiovisual work \"{title}\" by {author}, registered with reelguard as work {work_id} on {registered}\n\
         (SHA-256 of the original file {work_sha}). {rights}\n\n\
         (iii) Identification of the infringing material and information reasonably sufficient to locate it:\n\
         The video \"{upload_title}\" uploaded by \"{uploader}\" at\n  {url}\n\
         {also}\
         It reproduces the work without authorisation:\n{parts}\n\
         The page and the video were captured on {captured} and sealed with an RFC 3161 timestamp\n\
         ({stamp}); the capture manifest (SHA-256 {manifest_sha}) and the evidence bundle are available on request.\n\
         Please remove or disable access to this material.\n\n\
         (iv) Information reasonably sufficient to contact the complaining party:\n\
         Name: {name}\nAddress: {address}\nTelephone: {phone}\nEmail: {email}\n\n\
         (v) Good-faith statement:\n\
         I have a good faith belief that use of the material in the manner complained of is not authorized\n\
         by the copyright owner, its agent, or the law.\n\n\
         (vi) Accuracy and authority statement:\n\
         The information in this notification is accurate, and under penalty of perjury, I am the owner, or\n\
         authorized to act on behalf of the owner, of an exclusive right that is allegedly infringed.\n\n\
         (i) Signature of the owner or of a person authorized to act on the owner's behalf:\n\
         /s/ {signed}\n",
        signed = signature(claim, &o.name),
        platform = claim.platform,
        date = claim.exported_at.get(..10).unwrap_or(&claim.exported_at),
        title = claim.work_title,
        name = o.name,
        author = claim.work_owner.as_deref().unwrap_or(&o.name),
        work_id = claim.work_id,
        registered = claim.work_registered_at,
        work_sha = claim.work_sha256,
        rights = claim
            .rights_statement
            .as_deref()
            .map(|r| format!("Rights: {r}."))
            .unwrap_or_default(),
        upload_title = claim.upload_title,
        uploader = claim.uploader,
        url = claim.upload_url,
        also = also_at(claim),
        parts = copied_parts(claim),
        captured = claim.captured_at,
        stamp = claim.capture_stamp_summary(),
        manifest_sha = claim.capture_manifest_sha256,
        address = o.address,
        phone = o.phone,
        email = o.email,
    )
}

/// What to enter in YouTube's copyright takedown webform, field by field.
pub fn youtube_webform(claim: &Claim) -> String {
    let o = owner(claim);
    format!(
        "YouTube copyright takedown webform (youtube.com/copyright_complaint_form): fields to enter\n\n\
         Copyright owner name: {name}\n\
         Relationship to the copyright owner: I am the copyright owner\n\
         Primary email address: {email}\n\
         Phone number: {phone}\n\
         Streetaddress / City / State / Postal code / Country: {address}\n\n\
         Video(s) to remove (URL): {url}{more}\n\
         Type of work: Original video\n\
         Title of the copyrighted work: {title}\n\
         Where does the content appear (timestamps in the infringing video):\n{parts}\n\
         Additional information: my original was registered on {registered} (reelguard work {work_id});\n\
         the infringing page was captured and RFC 3161 timestamped on {captured}.\n\n\
         Removal options: standard (removal after 7 days) unless urgent\n\n\
         Legal statements to tick:\n\
         [x] I have a good faith belief that use of the copyrighted material described above is not authorized\n\
             by the copyright owner, its agent, or the law.\n\
         [x] The information in this notification is accurate, and I swear, under penalty of perjury, that I am\n\
             the copyright owner or am authorized to act on behalf of the owner of an exclusive right that is\n\
             allegedly infringed.\n\
         [x] I acknowledge that under Section 512(f) of the DMCA any person who knowingly materially\n\
             misrepresents that material or activity is infringing may be subject to liability for damages.\n\n\
         Signature (type your full legal name): {signed}\n",
        signed = signature(claim, &o.name),
        name = o.name,
        email = o.email,
        phone = o.phone,
        address = o.address,
        url = claim.upload_url,
        more = further_urls(claim),
        title = claim.work_title,
        parts = copied_parts(claim),
        registered = claim.work_registered_at,
        work_id = claim.work_id,
        captured = claim.captured_at,
    )
}

/// What to enter in TikTok's intellectual property infringement report.
pub fn tiktok_report(claim: &Claim) -> String {
    let o = owner(claim);
    format!(
        "TikTok intellectual property infringement report (tiktok.com/legal/report/Copyright): fields to enter\n\n\
         Your full name: {name}\n\
         Email: {email}\n\
         Phone number: {phone}\n\
         Physical address: {address}\n\
         Are you the rights owner or an agent?: I am the rights owner\n\
         Name of the rights owner: {name}\n\n\
         Type of infringement: Copyright infringement\n\
         Description of the copyrighted work: the original video \"{title}\", registered {registered}\n\
           (reelguard work {work_id}, SHA-256 {work_sha})\n\
         Link to the original work (if online): [optional]\n\
         Content to report (links): {url}{more}\n\
         Description of the infringement: the upload by \"{uploader}\" reproduces my video:\n{parts}\n\n\
         Statements to tick:\n\
         [x] I have a good faith belief that use of the copyrighted material is not authorized by the\n\
             copyright owner, its agent, or the law.\n\
         [x] The information in this notice is accurate and, under penalty of perjury, I am the owner or\n\
             authorized to act on behalf of the owner.\n\n\
         Signature: {signed}\n",
        signed = signature(claim, &o.name),
        name = o.name,
        email = o.email,
        phone = o.phone,
        address = o.address,
        title = claim.work_title,
        registered = claim.work_registered_at,
        work_id = claim.work_id,
        work_sha = claim.work_sha256,
        url = claim.upload_url,
        more = further_urls(claim),
        uploader = claim.uploader,
        parts = copied_parts(claim),
    )
}

/// A plain email to the platform, English then Chinese.
pub fn email(claim: &Claim) -> String {
    let o = owner(claim);
    format!(
        "Subject: Copyright infringement notice: {url}\n\n\
         Dear {platform} copyright team,\n\n\
         The video at {url}, uploaded by \"{uploader}\", copies my video \"{title}\" without permission:\n\
         {parts}\n\
         {also}\n\
         I captured the page on {captured}; the capture is sealed with an RFC 3161 trusted timestamp and\n\
         my evidence bundle can be checked offline by anyone. My formal notice under 17 U.S.C. 512(c)(3)\n\
         is attached (dmca-notice.txt). Please remove the video.\n\n\
         {name}\n{email}\n{phone}\n{address}\n\n\
         ----\n\n\
         主题：版权侵权通知：{url}\n\n\
         {platform} 版权团队您好：\n\n\
         用户“{uploader}”在 {url} 上传的视频未经许可复制了我的作品《{title}》。\n\
         {also_zh}\
         我已于 {captured} 对该页面取证，取证内容已加盖 RFC 3161 可信时间戳，任何人均可离线核验证据包。\n\
         附件为依据美国《数字千年版权法》第 512(c)(3) 条提交的正式通知（dmca-notice.txt）。请删除该视频。\n\n\
         {name}\n",
        url = claim.upload_url,
        platform = claim.platform,
        uploader = claim.uploader,
        title = claim.work_title,
        parts = copied_parts(claim),
        also = also_at(claim),
        also_zh = if claim.locations.is_empty() {
            String::new()
        } else {
            format!("同一视频还出现在：{}\n", further_urls(claim))
        },
        captured = claim.captured_at,
        name = o.name,
        email = o.email,
        phone = o.phone,
        address = o.address,
    )
}
