//! The fonts of the PDF certificate: where they are found, which face of a
//! collection is used, how wide a text is and where lines break.
//!
//! Text is drawn in runs: Latin text in DejaVu Sans (or its bold and mono
//! cuts), every character DejaVu lacks (Chinese) in the CJK font. Widths are
//! the sum of the glyphs' advances, which is what krilla draws for these
//! scripts (up to kerning, which only makes a line narrower).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use skrifa::instance::{LocationRef, Size};
use skrifa::raw::FileRef;
use skrifa::string::StringId;
use skrifa::{FontRef, GlyphId, MetadataProvider};

use super::CertificateError;

/// Environment variable naming a font file (.ttf, .otf or .ttc) with
/// Chinese glyphs; it overrides the search of the known Debian paths.
pub const CJK_FONT_ENV: &str = "REELGUARD_CJK_FONT";

/// CJK fonts from Debian packages, in order of preference:
/// fonts-wqy-microhei, fonts-noto-cjk, fonts-wqy-zenhei.
const CJK_FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
];

/// Latin fonts from fonts-dejavu-core.
const SANS_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const SANS_BOLD_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
const MONO_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";

/// A character the CJK font must have to count as one.
const HAN_PROBE: [char; 2] = ['证', '书'];

pub(super) fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "(no paths)".to_string();
    }
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One face of a font file, ready for krilla and for measuring.
pub(super) struct Face {
    pub(super) font: krilla::text::Font,
    data: Arc<Vec<u8>>,
    index: u32,
}

impl Face {
    fn new(path: &Path, data: Arc<Vec<u8>>, index: u32) -> Result<Face, CertificateError> {
        let bad = |reason: &str| CertificateError::BadFont {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        FontRef::from_index(&data, index).map_err(|err| bad(&format!("not a font: {err}")))?;
        let font = krilla::text::Font::new(data.clone().into(), index)
            .ok_or_else(|| bad(&format!("krilla cannot use face {index} of this font")))?;
        Ok(Face { font, data, index })
    }

    fn font_ref(&self) -> FontRef<'_> {
        FontRef::from_index(&self.data, self.index).expect("face was parsed when it was loaded")
    }

    fn covers(&self, ch: char) -> bool {
        self.font_ref().charmap().map(ch).is_some()
    }

    /// Width of `text` at `size` points (missing glyphs count as .notdef).
    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        let font = self.font_ref();
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .map(|ch| {
                let glyph = charmap.map(ch).unwrap_or(GlyphId::NOTDEF);
                metrics.advance_width(glyph).unwrap_or(0.0)
            })
            .sum()
    }
}

fn read(path: &Path) -> Result<Arc<Vec<u8>>, CertificateError> {
    std::fs::read(path)
        .map(Arc::new)
        .map_err(|source| CertificateError::ReadFont {
            path: path.to_path_buf(),
            source,
        })
}

/// The face of a font file to use for Chinese: in a collection, the first
/// Simplified Chinese face (Noto's "… CJK SC"), else the first face with Han
/// glyphs (index 0 of the WenQuanYi collections).
fn cjk_face(path: &Path) -> Result<Face, CertificateError> {
    let data = read(path)?;
    let file = FileRef::new(&data).map_err(|err| CertificateError::BadFont {
        path: path.to_path_buf(),
        reason: format!("not a font or font collection: {err}"),
    })?;
    let faces: Vec<(u32, FontRef<'_>)> = file
        .fonts()
        .enumerate()
        .filter_map(|(index, face)| Some((index as u32, face.ok()?)))
        .collect();
    let has_han = |face: &FontRef<'_>| {
        let charmap = face.charmap();
        HAN_PROBE.iter().all(|&ch| charmap.map(ch).is_some())
    };
    let simplified = |face: &FontRef<'_>| {
        face.localized_strings(StringId::FAMILY_NAME)
            .english_or_first()
            .is_some_and(|name| name.to_string().ends_with(" SC"))
    };
    let index = faces
        .iter()
        .find(|(_, face)| has_han(face) && simplified(face))
        .or_else(|| faces.iter().find(|(_, face)| has_han(face)))
        .map(|(index, _)| *index)
        .ok_or_else(|| CertificateError::BadFont {
            path: path.to_path_buf(),
            reason: "has no Chinese glyphs; a certificate needs a CJK font such as \
                     fonts-wqy-microhei"
                .to_string(),
        })?;
    Face::new(path, data.clone(), index)
}

/// A Latin font if its file exists.
fn optional_face(path: &str) -> Result<Option<Face>, CertificateError> {
    let path = Path::new(path);
    if !path.is_file() {
        return Ok(None);
    }
    Face::new(path, read(path)?, 0).map(Some)
}

/// How a piece of text is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    Regular,
    Bold,
    Mono,
}

/// Which loaded face a run is drawn in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FaceId {
    Cjk,
    Sans,
    SansBold,
    Mono,
}

/// A piece of a line drawn in one face.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Run {
    pub(super) face: FaceId,
    pub(super) text: String,
    /// Bold asked for but the face has no bold cut: the renderer strokes the
    /// glyphs' outlines as well as filling them.
    pub(super) fake_bold: bool,
}

/// The faces the certificate is drawn with.
pub(super) struct Fonts {
    cjk: Face,
    sans: Option<Face>,
    sans_bold: Option<Face>,
    mono: Option<Face>,
}

impl Fonts {
    /// Finds the fonts: `REELGUARD_CJK_FONT`, else the known Debian paths.
    pub(super) fn locate() -> Result<Fonts, CertificateError> {
        let chosen = std::env::var_os(CJK_FONT_ENV).filter(|value| !value.is_empty());
        Fonts::locate_from(chosen, CJK_FONT_PATHS)
    }

    /// Like [`Fonts::locate`] with the override and the search list given.
    /// An override that cannot be used is an error, not a reason to search.
    pub(super) fn locate_from(
        chosen: Option<OsString>,
        cjk_paths: &[&str],
    ) -> Result<Fonts, CertificateError> {
        let cjk = match chosen {
            Some(path) => cjk_face(Path::new(&path))?,
            None => {
                let found = cjk_paths.iter().map(Path::new).find(|path| path.is_file());
                match found {
                    Some(path) => cjk_face(path)?,
                    None => {
                        return Err(CertificateError::NoCjkFont {
                            tried: cjk_paths.iter().map(PathBuf::from).collect(),
                        })
                    }
                }
            }
        };
        Ok(Fonts {
            cjk,
            sans: optional_face(SANS_PATH)?,
            sans_bold: optional_face(SANS_BOLD_PATH)?,
            mono: optional_face(MONO_PATH)?,
        })
    }

    pub(super) fn face(&self, id: FaceId) -> &Face {
        let latin = match id {
            FaceId::Cjk => None,
            FaceId::Sans => self.sans.as_ref(),
            FaceId::SansBold => self.sans_bold.as_ref(),
            FaceId::Mono => self.mono.as_ref(),
        };
        latin.unwrap_or(&self.cjk)
    }

    /// The Latin face for a style, if that font was found.
    fn latin(&self, style: Style) -> Option<FaceId> {
        let (id, face) = match style {
            Style::Regular => (FaceId::Sans, &self.sans),
            Style::Bold => (FaceId::SansBold, &self.sans_bold),
            Style::Mono => (FaceId::Mono, &self.mono),
        };
        face.as_ref().map(|_| id)
    }

    /// Splits `text` into runs: characters the Latin face has go to it, the
    /// rest to the CJK face. Spaces stay in the run they follow.
    pub(super) fn runs(&self, text: &str, style: Style) -> Vec<Run> {
        let latin = self.latin(style);
        let mut runs: Vec<Run> = Vec::new();
        for ch in text.chars() {
            let face = match latin {
                Some(id) if ch == ' ' || self.face(id).covers(ch) => id,
                _ => FaceId::Cjk,
            };
            let continues = runs.last().is_some_and(|run| run.face == face || ch == ' ');
            if continues {
                runs.last_mut().expect("checked above").text.push(ch);
            } else {
                runs.push(Run {
                    face,
                    text: ch.to_string(),
                    fake_bold: style == Style::Bold && face != FaceId::SansBold,
                });
            }
        }
        runs
    }

    /// Width of `text` set in `style` at `size` points.
    pub(super) fn width(&self, text: &str, style: Style, size: f32) -> f32 {
        self.runs(text, style)
            .iter()
            .map(|run| self.face(run.face).width(&run.text, size))
            .sum()
    }

    /// Breaks `text` into lines no wider than `max_width`. Lines break at
    /// spaces, around Chinese characters (never before closing punctuation),
    /// after `/`, `-` and `_`, and inside a word only when the word alone is
    /// too wide. Line breaks in the text are kept; other control characters
    /// become spaces.
    pub(super) fn wrap(&self, text: &str, style: Style, size: f32, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.lines() {
            let paragraph = super::one_line(paragraph);
            let paragraph = paragraph.trim_end();
            let mut line = String::new();
            let mut line_width = 0.0;
            for token in break_tokens(paragraph) {
                let visible = token.trim_end();
                let visible_width = self.width(visible, style, size);
                if line_width + visible_width <= max_width {
                    line.push_str(token);
                    line_width += self.width(token, style, size);
                    continue;
                }
                if !line.trim().is_empty() {
                    lines.push(line.trim_end().to_string());
                }
                line.clear();
                line_width = 0.0;
                if visible_width <= max_width {
                    line.push_str(token);
                    line_width = self.width(token, style, size);
                    continue;
                }
                // A word wider than the line: break it between characters.
                for ch in token.chars() {
                    let ch_width = self.width(ch.encode_utf8(&mut [0; 4]), style, size);
                    if line_width + ch_width > max_width && !line.is_empty() && ch != ' ' {
                        lines.push(line.trim_end().to_string());
                        line.clear();
                        line_width = 0.0;
                    }
                    line.push(ch);
                    line_width += ch_width;
                }
            }
            if !line.trim().is_empty() || paragraph.is_empty() {
                lines.push(line.trim_end().to_string());
            }
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines
    }

    /// `text` on one line of at most `max_width`, cut with "…" if needed.
    pub(super) fn elide(&self, text: &str, style: Style, size: f32, max_width: f32) -> String {
        let text = super::one_line(text);
        if self.width(&text, style, size) <= max_width {
            return text;
        }
        let mut out = String::new();
        for ch in text.chars() {
            out.push(ch);
            if self.width(&out, style, size) + self.width("…", style, size) > max_width {
                out.pop();
                break;
            }
        }
        out.push('…');
        out
    }
}

/// Wide characters (CJK ideographs, kana, Hangul, full-width forms), which
/// lines may break around.
fn is_wide(ch: char) -> bool {
    matches!(ch,
        '\u{2E80}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FE30}'..='\u{FE4F}'
        | '\u{FF00}'..='\u{FFEF}'
        | '\u{20000}'..='\u{3FFFF}')
}

/// Punctuation that must not start a line.
fn is_closing(ch: char) -> bool {
    "，。、；：！？）》」』】〕”’…·,.;:!?)]}%".contains(ch)
}

/// Punctuation that must not end a line.
fn is_opening(ch: char) -> bool {
    "（《「『【〔“‘([{".contains(ch)
}

fn break_between(prev: char, next: char) -> bool {
    if next == ' ' || is_closing(next) || is_opening(prev) {
        return false;
    }
    prev == ' ' || is_wide(prev) || is_wide(next) || matches!(prev, '/' | '-' | '_')
}

/// Splits a line into the pieces between break opportunities; each piece
/// keeps its trailing spaces.
fn break_tokens(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    for (pos, ch) in text.char_indices() {
        if let Some(prev) = prev {
            if break_between(prev, ch) {
                tokens.push(&text[start..pos]);
                start = pos;
            }
        }
        prev = Some(ch);
    }
    if start < text.len() {
        tokens.push(&text[start..]);
    }
    tokens
}
