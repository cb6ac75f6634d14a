//! Headless Chromium through its command line: a screenshot (PNG) or a PDF
//! of a page, each in a fresh profile directory, killed after a timeout.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The Chromium binary: the configured one, else `chromium` or
/// `chromium-browser` on PATH; a distribution's launcher script is passed
/// over for the browser behind it ([`behind_launcher`]). None when none is
/// installed.
pub fn find(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = configured {
        return path.is_file().then(|| behind_launcher(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
        .map(|p| behind_launcher(&p))
}

/// Where distributions put the browser their launcher script starts.
const BROWSERS_BEHIND_LAUNCHERS: [&str; 2] = [
    "/usr/lib/chromium/chromium",
    "/usr/lib/chromium-browser/chromium-browser",
];

/// The browser itself when `path` is a launcher script: Debian's
/// `/usr/bin/chromium` adds the flags of `/etc/chromium.d` (remote
/// extension updates, Google API keys), with which the browser calls
/// Google on its own during a capture; started directly, it makes fewer
/// requests of its own (those left go through the guarding proxy like the
/// page's). Anything else is kept as it is.
fn behind_launcher(path: &Path) -> PathBuf {
    let is_script = std::fs::File::open(path)
        .and_then(|mut file| {
            let mut start = [0u8; 2];
            std::io::Read::read_exact(&mut file, &mut start).map(|()| start == *b"#!")
        })
        .unwrap_or(false);
    if is_script {
        if let Some(browser) = BROWSERS_BEHIND_LAUNCHERS
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
        {
            return browser.to_path_buf();
        }
    }
    path.to_path_buf()
}

/// How the browser may reach the network.
#[derive(Clone, Copy, Debug)]
pub enum Network {
    /// Only through this guarding proxy
    /// ([`crate::sources::guard_proxy::GuardProxy`]): a stranger's page,
    /// whose every request (loopback ones too) is judged there.
    Guarded(std::net::SocketAddr),
    /// A page of reelguard's own from a local file (the report), which
    /// fetches nothing.
    Local,
}

/// What to make of a page.
#[derive(Clone, Copy, Debug)]
pub enum Output {
    Screenshot,
    Pdf,
}

/// Where the browser's own services are sent: the discard port on
/// loopback, where nothing listens.
const NOWHERE: &str = "http://127.0.0.1:9/";

/// Renders `url` into the file `out` and returns its bytes.
///
/// JavaScript stays on (pages of video platforms draw themselves with it);
/// the sandbox is off because the capture often runs as root in a
/// container, where Chromium's sandbox cannot start; what keeps a hostile
/// page in is that, on a [`Network::Guarded`] capture, the browser's only
/// way out is the guarding proxy: loopback is not exempt from it, QUIC is
/// off, and WebRTC may send nothing that does not go through it.
pub async fn render(
    binary: &Path,
    url: &str,
    output: Output,
    out: &Path,
    timeout_s: f64,
    network: Network,
) -> anyhow::Result<Vec<u8>> {
    let profile = tempfile::tempdir()?;
    let mut command = tokio::process::Command::new(binary);
    command
        .arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--hide-scrollbars")
        .arg("--no-first-run")
        .arg("--disable-extensions")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        // Nothing of the browser's own (time, updates, safe browsing,
        // hints, telemetry) goes out: only what the page asks for.
        .arg("--disable-background-networking")
        .arg("--disable-component-update")
        .arg("--disable-sync")
        .arg("--disable-domain-reliability")
        .arg("--disable-client-side-phishing-detection")
        .arg("--safebrowsing-disable-auto-update")
        .arg("--no-pings")
        .arg("--metrics-recording-only")
        .arg("--disable-default-apps")
        .arg("--disable-component-extensions-with-background-pages")
        .arg("--disable-field-trial-config")
        .arg("--no-default-browser-check")
        .arg("--disable-search-engine-choice-screen")
        .arg("--password-store=basic")
        .arg("--use-mock-keychain")
        .arg("--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater")
        // Chromium 156 still asks its component updater
        // (update.googleapis.com) and sign-in service (accounts.google.com)
        // whatever the flags above say: both are pointed at a closed local
        // port, and then ask nothing at all.
        .arg(format!("--component-updater=url-source={NOWHERE}"))
        .arg(format!("--gaia-url={NOWHERE}"))
        .arg("--window-size=1280,2000");
    if let Network::Guarded(proxy) = network {
        command
            .arg(format!("--proxy-server=http://{proxy}"))
            .arg("--proxy-bypass-list=<-loopback>")
            .arg("--disable-quic")
            .arg("--force-webrtc-ip-handling-policy=disable_non_proxied_udp");
    }
    match output {
        Output::Screenshot => command.arg(format!("--screenshot={}", out.display())),
        Output::Pdf => command
            .arg(format!("--print-to-pdf={}", out.display()))
            .arg("--no-pdf-header-footer"),
    };
    command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", binary.display()))?;
    let result =
        tokio::time::timeout(Duration::from_secs_f64(timeout_s), child.wait_with_output()).await;
    let output_result = match result {
        Ok(result) => result?,
        Err(_) => anyhow::bail!(
            "chromium did not finish within {timeout_s} s (evidence.chromium_timeout_s)"
        ),
    };
    let bytes = std::fs::read(out).ok().filter(|b| !b.is_empty());
    match bytes {
        Some(bytes) => Ok(match output {
            Output::Screenshot => crop_to_content(bytes),
            Output::Pdf => bytes,
        }),
        None => {
            let stderr = String::from_utf8_lossy(&output_result.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            anyhow::bail!(
                "chromium wrote no {} ({}; {})",
                out.display(),
                output_result.status,
                last.unwrap_or("no message")
            )
        }
    }
}

/// Page background kept below the content of a cropped screenshot, in pixels.
const CROP_MARGIN: u32 = 24;

/// The screenshot without the blank window below the page's content: the
/// window is 2000 pixels tall whatever the page, and a short page left most
/// of it empty. Rows at the bottom of the background's colour (that of the
/// bottom-right pixel) are cut, keeping a small margin. A picture that
/// cannot be read, or has nothing to cut, is returned as it is.
fn crop_to_content(png: Vec<u8>) -> Vec<u8> {
    let Ok(picture) = image::load_from_memory_with_format(&png, image::ImageFormat::Png) else {
        return png;
    };
    let picture = picture.to_rgba8();
    let (width, height) = picture.dimensions();
    if width == 0 || height == 0 {
        return png;
    }
    let background = *picture.get_pixel(width - 1, height - 1);
    let last_content_row = (0..height)
        .rev()
        .find(|&y| (0..width).any(|x| *picture.get_pixel(x, y) != background));
    let keep = last_content_row.map_or(1, |y| y + 1 + CROP_MARGIN);
    if keep >= height {
        return png;
    }
    let cropped = image::imageops::crop_imm(&picture, 0, 0, width, keep).to_image();
    let mut out = std::io::Cursor::new(Vec::new());
    match cropped.write_to(&mut out, image::ImageFormat::Png) {
        Ok(()) => out.into_inner(),
        Err(_) => png,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    fn png_of(picture: &RgbaImage) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_screenshot_loses_the_blank_window_below_the_page_only() {
        // A short page: content in rows 10-59 of a 400-row window.
        let mut page = RgbaImage::from_pixel(120, 400, Rgba([255, 255, 255, 255]));
        for y in 10..60 {
            for x in 5..100 {
                page.put_pixel(x, y, Rgba([20, 20, 20, 255]));
            }
        }
        let cropped = image::load_from_memory(&crop_to_content(png_of(&page)))
            .unwrap()
            .to_rgba8();
        assert_eq!(cropped.dimensions(), (120, 60 + CROP_MARGIN));
        assert_eq!(*cropped.get_pixel(50, 59), Rgba([20, 20, 20, 255]));

        // A page filling the window keeps every row, byte for byte.
        page.put_pixel(3, 399, Rgba([0, 0, 0, 255]));
        let full = png_of(&page);
        assert_eq!(crop_to_content(full.clone()), full);

        // What is not a PNG is kept as it is.
        assert_eq!(
            crop_to_content(b"not a png".to_vec()),
            b"not a png".to_vec()
        );
    }
}
