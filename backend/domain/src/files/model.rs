//! Files: every uploaded object, as the store keeps it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Actor, UnitPath, UnitScope};
use crate::shared::{DomainError, FileId, OrgUnitId, UserId};

/// What a file is for; it decides which content types are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// A member's or user's picture.
    Avatar,
    /// A material's document or cover.
    Material,
    /// A payment receipt.
    Receipt,
    /// An image attached to a post.
    PostImage,
    /// Anything else.
    General,
}

impl FileType {
    /// Every file type, in the order the API documents them.
    pub const ALL: [FileType; 5] = [
        FileType::Avatar,
        FileType::Material,
        FileType::Receipt,
        FileType::PostImage,
        FileType::General,
    ];

    /// The wire and database name (`avatar`, `post_image`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Avatar => "avatar",
            FileType::Material => "material",
            FileType::Receipt => "receipt",
            FileType::PostImage => "post_image",
            FileType::General => "general",
        }
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FileType {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FileType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "file_type",
                    "must be one of avatar, material, receipt, post_image, general",
                )
            })
    }
}

/// Whether the object behind a file is in the object store yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// A direct upload was started; the object may not exist yet.
    Pending,
    /// The object is stored and may be shown.
    Uploaded,
}

impl FileStatus {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Pending => "pending",
            FileStatus::Uploaded => "uploaded",
        }
    }

    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(FileStatus::Pending),
            "uploaded" => Some(FileStatus::Uploaded),
            _ => None,
        }
    }
}

/// A file as stored (and as cached under `file:<id>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredFile {
    /// Database id.
    pub id: FileId,
    /// What the file is for.
    pub file_type: FileType,
    /// The object's key in the object store.
    pub object_key: String,
    /// The name the uploader gave it.
    pub original_name: String,
    /// The content type sniffed from the bytes (or declared, while pending).
    pub content_type: String,
    /// Size in bytes (declared, while pending).
    pub size: i64,
    /// Pending or uploaded.
    pub status: FileStatus,
    /// Who uploaded it.
    pub uploaded_by: UserId,
    /// The org unit it belongs to (the uploader's unless given).
    pub org_unit_id: Option<OrgUnitId>,
    /// That unit's path, for scope checks.
    pub unit_path: Option<UnitPath>,
    /// When the row was created.
    pub created_at: DateTime<Utc>,
}

/// What the store needs to create a file row.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// What the file is for.
    pub file_type: FileType,
    /// The object's key in the object store.
    pub object_key: String,
    /// The name the uploader gave it.
    pub original_name: String,
    /// Content type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Pending or uploaded.
    pub status: FileStatus,
    /// Who uploads it.
    pub uploaded_by: UserId,
    /// The org unit it belongs to.
    pub org_unit_id: Option<OrgUnitId>,
}

/// Which files a caller may see: those of the units in its scope, and its own uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileScope {
    /// The caller (its own uploads are always visible to it).
    pub user_id: UserId,
    /// The units whose files it sees.
    pub units: UnitScope,
}

impl FileScope {
    /// The file scope of an actor.
    pub fn of(actor: &Actor) -> Self {
        Self {
            user_id: actor.user_id,
            units: actor.units.clone(),
        }
    }

    /// Whether a file is inside this scope.
    pub fn contains(&self, file: &StoredFile) -> bool {
        file.uploaded_by == self.user_id || self.units.contains(file.unit_path.as_ref())
    }
}

/// Filters for listing files.
#[derive(Debug, Clone)]
pub struct FileFilter {
    /// Who is asking.
    pub scope: FileScope,
    /// Only files of this type.
    pub file_type: Option<FileType>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_types_round_trip_through_their_names() {
        for t in FileType::ALL {
            assert_eq!(t.as_str().parse::<FileType>().unwrap(), t);
        }
        assert!("video".parse::<FileType>().is_err());
    }
}
