//! The dashboard's words in English and Chinese, and which language a
//! request gets: the `reelguard_lang` cookie (set by the switch on every
//! page), else the browser's `Accept-Language`, else English.

use axum::http::{header, HeaderMap};

use crate::domain::{AlertState, MatchStatus, Named as _, ScanStatus, UploadState};

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
    takedown: "Preview the takedown notices", "预览删除通知";
    takedown_title: "Takedown notices", "删除通知";
    takedown_help: "These are the texts an evidence bundle exported now would hold, under takedown/.", "以下为此刻导出的证据包中 takedown/ 目录下的文本。";
    takedown_unavailable: "No notices yet", "暂无通知";
    back_to_match: "Back to the match", "返回匹配详情";
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
    timezone: "Time zone", "时区";
    url: "URL", "网址";
    next_run_soon: "as soon as a daemon runs", "守护进程运行后立即";
    never_fires: "never: the schedule does not fire again", "不再运行：该计划不会再触发";
    recent_scans: "Recent scans", "最近扫描";
    scan_counts: "listed / new / matches", "列出 / 新增 / 匹配";
    no_scans: "No scans yet.", "尚无扫描。";
    quota_left: "API quota left today (UTC)", "今日剩余 API 配额（UTC）";
    no_sources: "No sources yet.", "尚无监测来源。";
    add_source: "Add a source", "添加监测来源";
    edit_source: "Edit source", "编辑监测来源";
    add: "Add", "添加";
    edit: "Edit", "编辑";
    save: "Save", "保存";
    remove: "Remove", "删除";
    remove_confirm: "Yes, remove it", "确认删除";
    scan_now: "Scan now", "立即扫描";
    config_file: "config file", "配置文件";
    from_config: "Declared in the config file: change or remove it there (the command line refuses too; the next start would write the file's settings back).", "在配置文件中声明：请在配置文件中修改或删除（命令行同样不允许修改；下次启动会按配置文件恢复设置）。";
    admin_only: "Only an admin token may add, edit, remove or scan sources.", "只有管理员令牌可以添加、编辑、删除或扫描监测来源。";
    schedule_help: "Cron: 6 fields with seconds (0 0 * * * * is hourly) or a 5-field crontab; empty: hourly.", "Cron 表达式：含秒的 6 个字段（0 0 * * * * 为每小时）或 5 个字段；留空为每小时。";
    url_help: "Feed, page or channel-feed URL; the API base URL for youtube-search; the directory's absolute path for folder.", "订阅源、网页或频道订阅源网址；youtube-search 填 API 基础网址；folder 填目录的绝对路径。";
    allow_private: "Allow private, loopback and link-local addresses", "允许访问内网、本机和链路本地地址";
    allow_loopback: "Allow loopback addresses only", "仅允许访问本机地址";
    proxy: "Proxy", "代理";
    keywords: "Search terms, one per line (youtube-search)", "搜索关键词，每行一个（youtube-search）";
    ytdlp_path: "yt-dlp program", "yt-dlp 程序路径";
    source_added: "Source added", "已添加监测来源";
    source_saved: "Source saved", "已保存监测来源";
    source_removed: "Source removed", "已删除监测来源";
    scan_queued: "Scan queued; a running daemon (or `reelguard scan`) carries it out", "扫描已排队；由运行中的守护进程（或 `reelguard scan`）执行";
    scan_discovering: "listing", "列出中";
    scan_processing: "processing", "处理中";
    scan_done: "done", "完成";
    scan_failed: "failed", "失败";
    alert_waiting: "waiting", "等待发送";
    alert_sending: "sending", "发送中";
    alert_sent: "sent", "已发送";
    alert_failed: "failed", "发送失败";
    no_alerts: "No alerts yet.", "尚无提醒。";
    queued_at: "Queued", "排队时间";
    next_attempt: "Next attempt", "下次尝试";
    delivered: "Delivered", "送达时间";
    server_answer: "Server answer", "服务器应答";
    retry: "Retry", "重试";
    retry_all: "Retry every failed alert", "重试全部失败的提醒";
    retry_help: "A retried alert goes back to the queue with fresh attempts: fix the cause first (e.g. the [smtp] settings). Retrying one needs a reviewer token, all at once an admin token.", "重试的提醒将重新排队并重新计算尝试次数：请先排除原因（例如 [smtp] 设置）。重试单条需要审核员令牌，全部重试需要管理员令牌。";
    retried: "Queued again", "已重新排队";
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
    pub fn scan_status(&self, status: &ScanStatus) -> &'static str {
        match status {
            ScanStatus::Discovering => self.scan_discovering,
            ScanStatus::Processing => self.scan_processing,
            ScanStatus::Done => self.scan_done,
            ScanStatus::Failed => self.scan_failed,
        }
    }

    pub fn alert_state(&self, state: &AlertState) -> &'static str {
        match state {
            AlertState::Queued => self.alert_waiting,
            AlertState::Sending => self.alert_sending,
            AlertState::Delivered => self.alert_sent,
            AlertState::Failed => self.alert_failed,
        }
    }

    pub fn status(&self, status: &MatchStatus) -> &'static str {
        if std::ptr::eq(self, &ZH) {
            status.chinese()
        } else {
            status.name()
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
