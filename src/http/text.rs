//! The dashboard's words in English and Chinese, and which language a
//! request gets: the `reelguard_lang` cookie (set by the switch on every
//! page), else the browser's `Accept-Language`, else English.

use axum::http::{header, HeaderMap};

use crate::domain::{MatchStatus, UploadState};

/// The cookie that keeps a chosen language.
pub const LANG_COOKIE: &str = "reelguard_lang";

/// A language of the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    /// The language of a request.
    pub fn of(headers: &HeaderMap) -> Lang {
        if let Some(chosen) = super::access::cookie(headers, LANG_COOKIE) {
            if let Some(lang) = Lang::from_code(chosen) {
                return lang;
            }
        }
        let accepted = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // The first language the browser names that we speak.
        accepted
            .split(',')
            .filter_map(|part| part.split(';').next())
            .find_map(|code| Lang::from_code(code.trim()))
            .unwrap_or(Lang::En)
    }

    /// `en…` or `zh…`.
    pub fn from_code(code: &str) -> Option<Lang> {
        let code = code.to_ascii_lowercase();
        if code.starts_with("zh") {
            Some(Lang::Zh)
        } else if code.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The `lang` attribute of a page.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// The other language (the switch offers it).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Zh,
            Lang::Zh => Lang::En,
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }
}

macro_rules! texts {
    ($($field:ident: $en:literal, $zh:literal;)+) => {
        /// Every label of the dashboard.
        pub struct Text {
            $(pub $field: &'static str,)+
        }
        const EN: Text = Text { $($field: $en,)+ };
        const ZH: Text = Text { $($field: $zh,)+ };
    };
}

texts! {
    switch_to: "中文", "English";
    inbox: "Inbox", "待审核";
    works: "Works", "作品";
    sources: "Sources", "监测来源";
    alerts: "Alerts", "提醒";
    sign_in: "Sign in", "登录";
    sign_out: "Sign out", "退出";
    token: "Access token", "访问令牌";
    sign_in_help: "Paste a token from `reelguard tokens create NAME --role reviewer`.", "粘贴由 `reelguard tokens create 名称 --role reviewer` 生成的令牌。";
    sign_in_failed: "That token is not valid (wrong, revoked or mistyped).", "令牌无效（错误、已吊销或输入有误）。";
    signed_in_as: "Signed in as", "当前用户";
    frames: "Frames", "画面";
    work: "Work", "作品";
    platform: "Platform", "平台";
    uploader: "Uploader", "上传者";
    matched: "Matched", "匹配时长";
    share: "Share of work", "占作品比例";
    score: "Score", "相似度";
    found: "Found", "发现时间";
    status: "Status", "状态";
    source: "Source", "来源";
    all: "All", "全部";
    since: "From", "起始日期";
    until: "To", "截止日期";
    filter: "Filter", "筛选";
    previous: "Previous", "上一页";
    next: "Next", "下一页";
    of_total: "of", "共";
    no_matches: "No matches here.", "暂无匹配。";
    keys_help: "Keys: j/k move, Enter open, c confirm, d dismiss, l licensed, x select.", "快捷键：j/k 移动，Enter 打开，c 确认侵权，d 驳回，l 已授权，x 选择。";
    selected: "With the selected:", "对所选项：";
    note: "Note", "备注";
    confirm: "Confirm", "确认侵权";
    dismiss: "Dismiss", "驳回";
    license: "Licensed", "已授权";
    claim: "Claimed", "已申诉";
    resolve: "Resolved", "已解决";
    review_done: "Reviewed", "已审核";
    review_failed: "Not changed", "未更改";
    read_only: "This token may only read; ask an admin for a reviewer token to act.", "此令牌只能查看；如需审核，请向管理员申请审核员令牌。";
    upload: "The upload", "侵权副本";
    also_at: "The same upload, also found at", "同一副本的其他发布地址";
    original: "The registered work", "登记作品";
    no_copy_video: "The upload's video was not kept by the capture.", "取证时未保存该副本的视频。";
    no_work_video: "The work's file is no longer at its registered path.", "作品文件已不在登记路径。";
    offset: "Offset", "时间偏移";
    segments: "Matched segments", "匹配片段";
    upload_seconds: "Upload (s)", "副本（秒）";
    work_seconds: "Work (s)", "作品（秒）";
    speed: "Speed", "速度";
    frame_pairs: "Frame pairs", "画面对照";
    capture: "Capture", "取证";
    capture_time: "Timestamped", "时间戳";
    files: "Files", "文件";
    screenshot: "Screenshot", "截图";
    history: "Review history", "审核记录";
    by: "By", "操作人";
    command_line: "command line", "命令行";
    when: "When", "时间";
    change: "Change", "变更";
    actions: "Actions", "操作";
    bundle: "Download the evidence bundle", "下载证据包";
    bundle_draft: "Not confirmed yet: the bundle's report and notices are drafts.", "尚未确认：证据包中的报告和通知为草稿。";
    title: "Title", "标题";
    owner: "Owner", "权利人";
    rights: "Rights statement", "权利声明";
    register_video: "Register a video", "登记视频";
    register_help: "The video is kept on this server and fingerprinted there; its page shows the progress.", "视频保存在本服务器并在此提取指纹；其页面显示进度。";
    register_button: "Register", "登记";
    uploads: "Uploads", "上传记录";
    open_work: "Open the work", "打开作品";
    stages: "Creation stages", "创作阶段";
    stage: "Stage", "阶段";
    size: "Size", "大小";
    pending_stamp: "pending timestamp", "等待时间戳";
    stamps_pending: "Not yet timestamped (retried by the daemon and `reelguard works timestamp`)", "尚未加盖时间戳（守护进程和 `reelguard works timestamp` 会重试）";
    chain_head: "Chain head", "哈希链头";
    downloads: "Downloads", "下载";
    certificate: "Certificate", "存证证书";
    download_package: "Download the provenance package", "下载作品存证包";
    add_stage: "Add a creation-stage file", "添加创作阶段文件";
    chain_page: "Provenance of a registered work", "登记作品的存证信息";
    chain_holds: "Every timestamp token checks", "全部时间戳令牌核验通过";
    chain_not_all: "Not every stage has a timestamp token that checks", "并非每个阶段的时间戳令牌都核验通过";
    chain_earlier: "This is an earlier head of the work's chain; files were added since. The current head is shown below.", "这是该作品哈希链的较早链头，此后又添加了文件。下方显示当前链头。";
    chain_unknown: "No work registered on this server has this chain head.", "本服务器上没有登记作品具有此哈希链头。";
    chain_help: "Each token was checked on this server against its trust anchors. To check it yourself, download the provenance package from the owner and run `reelguard verify` on it.", "每个令牌均已在本服务器上依据其信任根核验。如需自行核验，请向权利人索取作品存证包并运行 `reelguard verify`。";
    duration: "Duration", "时长";
    registered: "Registered", "登记时间";
    name: "Name", "名称";
    kind: "Kind", "类型";
    schedule: "Schedule", "计划";
    last_run: "Last run", "上次运行";
    next_run: "Next run", "下次运行";
    last_error: "Last error", "最近错误";
    channel: "Channel", "渠道";
    recipient: "Recipient", "收件人";
    attempts: "Attempts", "尝试次数";
    error: "Error", "错误";
    open: "Open", "打开";
    verify: "Check a provenance package or an evidence bundle", "核验作品存证包或侵权证据包";
    verify_help: "Upload the .zip that reelguard exported. Every hash, timestamp token, signature and the chain are checked here, as `reelguard verify` does; the file is not kept.", "上传 reelguard 导出的 .zip 文件。此处会像 `reelguard verify` 一样核验每个哈希值、时间戳令牌、签名和哈希链；文件不会被保存。";
    verify_button: "Check", "核验";
    verify_passed: "Every check passed", "全部核验通过";
    verify_failed: "Some checks failed", "部分核验未通过";
    evidence_bundle: "evidence bundle", "侵权证据包";
    provenance_package: "provenance package", "作品存证包";
    trust_anchors: "Trust anchors", "信任根";
    check: "Check", "核验项";
    detail: "Detail", "详情";
    pass: "PASS", "通过";
    fail: "FAIL", "未通过";
    select: "Select", "选择";
}

impl Text {
    pub fn status(&self, status: &MatchStatus) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        match (status, zh) {
            (MatchStatus::Pending, false) => "pending",
            (MatchStatus::Pending, true) => "待审核",
            (MatchStatus::Confirmed, false) => "confirmed",
            (MatchStatus::Confirmed, true) => "已确认侵权",
            (MatchStatus::Dismissed, false) => "dismissed",
            (MatchStatus::Dismissed, true) => "已驳回",
            (MatchStatus::Licensed, false) => "licensed",
            (MatchStatus::Licensed, true) => "已授权",
            (MatchStatus::Claimed, false) => "claimed",
            (MatchStatus::Claimed, true) => "已申诉",
            (MatchStatus::Resolved, false) => "resolved",
            (MatchStatus::Resolved, true) => "已解决",
        }
    }

    /// An upload's state, in words.
    pub fn upload_state(&self, state: UploadState) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        match (state, zh) {
            (UploadState::Queued, false) => "queued",
            (UploadState::Queued, true) => "排队中",
            (UploadState::Fingerprinting, false) => "fingerprinting",
            (UploadState::Fingerprinting, true) => "提取指纹中",
            (UploadState::Ready, false) => "ready",
            (UploadState::Ready, true) => "已登记",
            (UploadState::Failed, false) => "failed",
            (UploadState::Failed, true) => "失败",
        }
    }

    /// The button that moves a match to `status`.
    pub fn action(&self, status: &MatchStatus) -> &'static str {
        match status {
            MatchStatus::Confirmed => self.confirm,
            MatchStatus::Dismissed => self.dismiss,
            MatchStatus::Licensed => self.license,
            MatchStatus::Claimed => self.claim,
            MatchStatus::Resolved => self.resolve,
            MatchStatus::Pending => self.status(status),
        }
    }
}
