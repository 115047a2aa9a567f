//! Posts as stored, as shown to one reader, and who may read which board.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Actor, UnitPath, UnitScope};
use crate::shared::{FileId, OrgUnitId, PostId, UserId};

/// A post as stored, with its unit's name and path and its images in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// Id.
    pub id: PostId,
    /// The unit whose board it is on.
    pub org_unit_id: OrgUnitId,
    /// That unit's name (shown even to readers who cannot open the unit).
    pub org_unit_name: String,
    /// That unit's path, which decides who reads the post.
    pub unit_path: UnitPath,
    /// Who wrote it.
    pub author_id: UserId,
    /// The author's name.
    pub author_name: String,
    /// Title.
    pub title: String,
    /// Markdown, stored exactly as written (the SPA renders it safely).
    pub body: String,
    /// Whether it stays on top of its board.
    pub pinned: bool,
    /// Views written back to the database (the pending ones are in the state store).
    pub view_count: i64,
    /// The attached images (files of type `post_image`), in order.
    pub image_file_ids: Vec<FileId>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A post to store.
#[derive(Debug, Clone)]
pub struct NewPost {
    /// The board.
    pub org_unit_id: OrgUnitId,
    /// The author.
    pub author_id: UserId,
    /// Title.
    pub title: String,
    /// Body, as written.
    pub body: String,
    /// Pinned.
    pub pinned: bool,
    /// Images, in order.
    pub image_file_ids: Vec<FileId>,
}

/// A change to a post; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PostUpdate {
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// Pinned or not.
    pub pinned: Option<bool>,
    /// The new images, replacing the old ones, in order.
    pub image_file_ids: Option<Vec<FileId>>,
}

/// Input for a post, still unchecked; for a change, absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct PostInput {
    /// The board (creation only).
    pub org_unit_id: Option<OrgUnitId>,
    /// Title.
    pub title: Option<String>,
    /// Body.
    pub body: Option<String>,
    /// Images, in order.
    pub image_file_ids: Option<Vec<FileId>>,
    /// Pinned.
    pub pinned: Option<bool>,
}

/// Which boards a reader reads: the units in its scope, and the ancestors of its own unit
/// (announcements flow down). Computed from the [`Actor`], so a cache key holding the scope's
/// tag holds this too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardScope {
    /// The units whose data the reader sees.
    pub units: UnitScope,
    /// The reader's own unit, whose ancestors' boards it reads too (`None`: no such unit, or
    /// one whose scope already covers everything).
    pub below: Option<UnitPath>,
}

impl BoardScope {
    /// The boards `actor` reads.
    pub fn of(actor: &Actor) -> Self {
        let below = match &actor.units {
            UnitScope::Subtree(own) => Some(own.clone()),
            UnitScope::All | UnitScope::Nothing => None,
        };
        Self {
            units: actor.units.clone(),
            below,
        }
    }

    /// Whether the board of the unit at `path` is read.
    pub fn contains(&self, path: &UnitPath) -> bool {
        self.units.contains(Some(path)) || self.below.as_ref().is_some_and(|own| path.contains(own))
    }
}

/// Which posts a list holds.
#[derive(Debug, Clone)]
pub struct PostFilter {
    /// What the reader reads.
    pub scope: BoardScope,
    /// Only the board of this unit.
    pub org_unit_id: Option<OrgUnitId>,
}

/// One image of a post, with its view URL.
#[derive(Debug, Clone, PartialEq)]
pub struct PostImage {
    /// The file.
    pub file_id: FileId,
    /// Its signed view URL (from the file-URL cache).
    pub url: String,
}

/// A post as one reader sees it.
#[derive(Debug, Clone)]
pub struct PostView {
    /// The post.
    pub post: Post,
    /// Its images that still exist, in order, with URLs.
    pub images: Vec<PostImage>,
    /// Whether the reader can open the post's unit (its scope covers it); when not, the post
    /// shows only the unit's name.
    pub unit_in_scope: bool,
    /// Whether the reader may edit and delete it (its author, or an administrator).
    pub can_edit: bool,
    /// Whether the reader may pin and unpin it (an administrator, or a writer of its unit).
    pub can_pin: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(units: UnitScope) -> Actor {
        Actor {
            user_id: UserId(1),
            is_admin: false,
            is_treasurer: false,
            org_unit_id: None,
            units,
            ip: None,
        }
    }

    #[test]
    fn a_reader_reads_its_subtree_and_its_ancestors_boards_but_not_its_siblings() {
        let path = |p: &str| UnitPath::from_stored(p.into());
        let sector = BoardScope::of(&actor(UnitScope::Subtree(path("/1/2/3/"))));
        for (board, read) in [
            ("/1/", true),
            ("/1/2/", true),
            ("/1/2/3/", true),
            ("/1/2/3/4/", true),
            ("/1/2/5/", false),
            ("/1/2/5/6/", false),
            ("/1/7/", false),
            ("/1/2/30/", false),
        ] {
            assert_eq!(sector.contains(&path(board)), read, "{board}");
        }
        assert!(BoardScope::of(&actor(UnitScope::All)).contains(&path("/1/7/8/")));
        let nobody = BoardScope::of(&actor(UnitScope::Nothing));
        assert!(!nobody.contains(&path("/1/")));
    }
}
