//! Content types are sniffed from the bytes, never trusted from the client, and checked
//! against what each file type accepts. SVG and HTML are never accepted: served inline from
//! our origin they could run script.

use crate::files::model::FileType;

const IMAGES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];
const DOCUMENTS: &[&str] = &[
    "application/pdf",
    "text/plain",
    "application/epub+zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
];
const ARCHIVES: &[&str] = &["application/zip"];

/// How many leading bytes are enough to sniff a type.
pub const SNIFF_LEN: usize = 8192;

/// The content type the bytes show, or `None` when they match nothing we know.
/// Valid UTF-8 without NUL bytes counts as `text/plain`.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if let Some(kind) = infer::get(bytes) {
        return Some(kind.mime_type());
    }
    let head = &bytes[..bytes.len().min(SNIFF_LEN)];
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the sniffing boundary is still text.
        Err(e) => e.error_len().is_none() && head.len() == SNIFF_LEN,
    };
    (text && !head.is_empty() && !head.contains(&0)).then_some("text/plain")
}

/// The content types a file type accepts.
pub fn allowed(file_type: FileType) -> Vec<&'static str> {
    match file_type {
        FileType::Avatar | FileType::PostImage => IMAGES.to_vec(),
        FileType::Receipt => [IMAGES, &["application/pdf"]].concat(),
        FileType::Material => [IMAGES, DOCUMENTS].concat(),
        FileType::General => [IMAGES, DOCUMENTS, ARCHIVES].concat(),
    }
}

/// Whether `content_type` is accepted for `file_type`.
pub fn is_allowed(file_type: FileType, content_type: &str) -> bool {
    allowed(file_type).contains(&content_type)
}

/// Whether a content type is an image (shown inline without a file name).
pub fn is_image(content_type: &str) -> bool {
    content_type.starts_with("image/")
}

/// The usual file extension for a content type, used in object keys.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "application/zip" => "zip",
        "application/epub+zip" => "epub",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        "application/vnd.oasis.opendocument.text" => "odt",
        "application/vnd.oasis.opendocument.spreadsheet" => "ods",
        "application/vnd.oasis.opendocument.presentation" => "odp",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn images_are_recognised_by_their_magic_bytes() {
        assert_eq!(sniff(PNG), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0"), Some("image/jpeg"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
    }

    #[test]
    fn utf8_text_is_plain_text_and_binary_noise_is_nothing() {
        assert_eq!(sniff("olá, camarada".as_bytes()), Some("text/plain"));
        assert_eq!(sniff(b"\0\x01\x02\x03"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn svg_and_html_are_never_accepted() {
        for t in FileType::ALL {
            assert!(!is_allowed(t, "image/svg+xml"));
            assert!(!is_allowed(t, "text/html"));
        }
    }

    #[test]
    fn avatars_take_images_only() {
        assert!(is_allowed(FileType::Avatar, "image/png"));
        assert!(!is_allowed(FileType::Avatar, "application/pdf"));
        assert!(is_allowed(FileType::Receipt, "application/pdf"));
    }
}
