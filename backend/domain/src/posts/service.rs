//! The posts board: who reads, writes, edits, deletes and pins which post; lists cached per
//! scope (invalidated by a version bump); images shown through the file-URL cache; views and
//! the popular list through [`PostViews`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;

use crate::access::Actor;
use crate::files::{FileRepo, FileScope, FileType, FileUrls};
use crate::jobs::Lease;
use crate::org::OrgRepo;
use crate::posts::model::{
    BoardScope, NewPost, Post, PostFilter, PostImage, PostInput, PostUpdate, PostView,
};
use crate::posts::repo::PostRepo;
use crate::posts::views::{FlushOutcome, PostViews};
use crate::shared::cache::Cache;
use crate::shared::cached::{CacheLayer, Invalidation, Namespace, TtlClass};
use crate::shared::events::{Event, Listener};
use crate::shared::time::Clock;
use crate::shared::validation;
use crate::shared::{
    finish, DomainError, DomainResult, FieldError, FileId, OrgUnitId, Page, PageRequest, PostId,
};

/// Cached pages of post lists, `post_lists:v<version>:list:<scope>…` (user data): every
/// create, change, delete, view write-back and org-tree change moves the version. Its name is
/// not a prefix of the view counters (`post_views:`), so clearing it never loses a view.
pub static POST_LISTS: Namespace = Namespace {
    name: "post_lists",
    ttl: TtlClass::UserData,
    invalidation: Invalidation::Version,
};

/// The most images a post carries.
pub const MAX_IMAGES: usize = 10;
/// The longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// The longest body, in characters.
pub const MAX_BODY: usize = 20_000;

/// The posts board.
pub struct PostService {
    posts: Arc<dyn PostRepo>,
    units: Arc<dyn OrgRepo>,
    files: Arc<dyn FileRepo>,
    urls: Arc<FileUrls>,
    cache: CacheLayer,
    views: PostViews,
}

impl PostService {
    /// The board over its posts, the units they are on and the files they show; lists cached
    /// in `cache`, views counted in `state` (the store that is never evicted or cleared).
    pub fn new(
        posts: Arc<dyn PostRepo>,
        units: Arc<dyn OrgRepo>,
        files: Arc<dyn FileRepo>,
        urls: Arc<FileUrls>,
        cache: CacheLayer,
        state: Arc<dyn Cache>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        cache.register(&POST_LISTS);
        let views = PostViews::new(Arc::clone(&posts), state, Arc::clone(cache.cache()), clock);
        Self {
            posts,
            units,
            files,
            urls,
            cache,
            views,
        }
    }

    /// Writes a post on the board of a unit the caller may write in (its scope covers it).
    pub async fn create(&self, actor: &Actor, input: PostInput) -> DomainResult<PostView> {
        let mut errors = Vec::new();
        let title =
            required(input.title, "title", &mut errors).and_then(|t| parse_title(&t, &mut errors));
        let body =
            required(input.body, "body", &mut errors).and_then(|b| parse_body(b, &mut errors));
        let unit = match input.org_unit_id {
            Some(id) => self.writable_unit(actor, id, &mut errors).await?,
            None => {
                errors.push(FieldError::new("org_unit_id", "is required"));
                None
            }
        };
        let images = match input.image_file_ids {
            Some(ids) => self.images(actor, ids, &[], &mut errors).await?,
            None => Vec::new(),
        };
        finish(errors)?;
        let (Some(title), Some(body), Some(org_unit_id)) = (title, body, unit) else {
            return Err(DomainError::Unexpected(anyhow::anyhow!(
                "a post passed its checks without a title, body or unit"
            )));
        };
        let post = self
            .posts
            .insert_post(NewPost {
                org_unit_id,
                author_id: actor.user_id,
                title,
                body,
                // Whoever may post on a board may pin there.
                pinned: input.pinned.unwrap_or(false),
                image_file_ids: images,
            })
            .await?;
        self.changed().await;
        self.show_one(actor, post).await
    }

    /// One post the caller reads; counts a view.
    pub async fn get(&self, actor: &Actor, id: PostId) -> DomainResult<PostView> {
        let mut post = self.readable(actor, id).await?;
        post.view_count = self.views.count(&post).await?;
        self.show_one(actor, post).await
    }

    /// The posts the caller reads, optionally of one board: pinned first, then newest first.
    /// Served from the cache when the same scope asked the same page since the last change.
    pub async fn list(
        &self,
        actor: &Actor,
        org_unit_id: Option<OrgUnitId>,
        page: PageRequest,
    ) -> DomainResult<Page<PostView>> {
        let filter = PostFilter {
            scope: BoardScope::of(actor),
            org_unit_id,
        };
        // The scope's tag names the scope and the reader's own unit, hence every board it reads.
        let key = format!(
            "list:{}:unit={}:p{}x{}",
            actor.units.cache_tag(),
            org_unit_id.map_or("any".into(), |u| u.0.to_string()),
            page.page,
            page.per_page
        );
        let found = self
            .cache
            .get_or_load(&POST_LISTS, &key, || async {
                self.posts.list_posts(filter, page).await
            })
            .await?;
        let total = found.total;
        Ok(Page {
            items: self.show(actor, found.items).await?,
            total,
        })
    }

    /// The most viewed posts of the last 30 days that the caller reads: by views, then newest
    /// first; their `view_count` is the ranking's (it includes views not written back yet).
    pub async fn popular(&self, actor: &Actor, page: PageRequest) -> DomainResult<Page<PostView>> {
        let ranking = self.views.ranking().await?;
        let ids: Vec<PostId> = ranking.iter().map(|(id, _)| *id).collect();
        let scope = BoardScope::of(actor);
        let mut readable: HashMap<PostId, Post> = self
            .posts
            .posts_by_ids(&scope, &ids)
            .await?
            .into_iter()
            .filter(|p| self.views.is_recent(p))
            .map(|p| (p.id, p))
            .collect();
        let ranked: Vec<Post> = ranking
            .into_iter()
            .filter_map(|(id, views)| {
                let mut post = readable.remove(&id)?;
                post.view_count = views.max(post.view_count);
                Some(post)
            })
            .collect();
        let total = ranked.len() as i64;
        let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let items: Vec<Post> = ranked
            .into_iter()
            .skip(start)
            .take(page.per_page as usize)
            .collect();
        Ok(Page {
            items: self.show(actor, items).await?,
            total,
        })
    }

    /// Changes a post. Title, body and images: its author or an administrator; `pinned`: an
    /// administrator or a writer of its unit. Refused as a whole (403) when one field is not
    /// the caller's to change; nothing changes then, nor when a field is invalid (422).
    pub async fn update(
        &self,
        actor: &Actor,
        id: PostId,
        input: PostInput,
    ) -> DomainResult<PostView> {
        let post = self.readable(actor, id).await?;
        let edits = input.title.is_some() || input.body.is_some() || input.image_file_ids.is_some();
        if edits && !may_edit(actor, &post) {
            return Err(DomainError::forbidden(
                "only the author or an administrator may edit a post",
            ));
        }
        if input.pinned.is_some() && !may_pin(actor, &post) {
            return Err(DomainError::forbidden(
                "only an administrator or a writer of the post's unit may pin it",
            ));
        }
        let mut errors = Vec::new();
        if input.org_unit_id.is_some() {
            errors.push(FieldError::new("org_unit_id", "a post stays on its board"));
        }
        let title = input.title.map(|t| parse_title(&t, &mut errors));
        let body = input.body.map(|b| parse_body(b, &mut errors));
        let images = match input.image_file_ids {
            Some(ids) => Some(
                self.images(actor, ids, &post.image_file_ids, &mut errors)
                    .await?,
            ),
            None => None,
        };
        finish(errors)?;
        let post = self
            .posts
            .update_post(
                id,
                &PostUpdate {
                    title: title.flatten(),
                    body: body.flatten(),
                    pinned: input.pinned,
                    image_file_ids: images,
                },
            )
            .await?
            .ok_or(DomainError::NotFound("post"))?;
        self.changed().await;
        self.show_one(actor, post).await
    }

    /// Deletes a post: its author or an administrator.
    pub async fn delete(&self, actor: &Actor, id: PostId) -> DomainResult<()> {
        let post = self.readable(actor, id).await?;
        if !may_edit(actor, &post) {
            return Err(DomainError::forbidden(
                "only the author or an administrator may delete a post",
            ));
        }
        if !self.posts.delete_post(id).await? {
            return Err(DomainError::NotFound("post"));
        }
        self.views.forget(id).await;
        self.changed().await;
        Ok(())
    }

    /// Writes pending views back to the database, once across instances (the periodic job;
    /// tests call it directly). Lists show stored counts, so they are dropped when it moved any.
    pub async fn flush_views(&self) -> DomainResult<FlushOutcome> {
        let outcome = self.views.flush().await?;
        if matches!(outcome, FlushOutcome::Flushed { posts, .. } if posts > 0) {
            self.changed().await;
        }
        Ok(outcome)
    }

    /// [`PostService::flush_views`] as the periodic job runs it, holding the job's lock.
    pub async fn flush_views_under(&self, lease: &Lease) -> DomainResult<FlushOutcome> {
        let outcome = self.views.flush_under(lease).await?;
        if matches!(outcome, FlushOutcome::Flushed { posts, .. } if posts > 0) {
            self.changed().await;
        }
        Ok(outcome)
    }

    /// Drops every cached post list.
    async fn changed(&self) {
        self.cache.invalidate(&POST_LISTS).await;
    }

    /// The post, if the caller reads its board; 404 otherwise (its existence is not revealed).
    async fn readable(&self, actor: &Actor, id: PostId) -> DomainResult<Post> {
        self.posts
            .post_by_id(id)
            .await?
            .filter(|p| BoardScope::of(actor).contains(&p.unit_path))
            .ok_or(DomainError::NotFound("post"))
    }

    /// The id of a unit the caller may write in, or a field error that says the same whether
    /// the unit does not exist or is not the caller's.
    async fn writable_unit(
        &self,
        actor: &Actor,
        id: OrgUnitId,
        errors: &mut Vec<FieldError>,
    ) -> DomainResult<Option<OrgUnitId>> {
        let unit = self
            .units
            .unit(id)
            .await?
            .filter(|u| actor.units.contains(Some(&u.path)));
        if unit.is_none() {
            errors.push(FieldError::new(
                "org_unit_id",
                "no unit you may post on (your own unit or one below it)",
            ));
        }
        Ok(unit.map(|u| u.id))
    }

    /// Checks images: at most [`MAX_IMAGES`], no repeats, each an uploaded `post_image` the
    /// caller sees (or already on the post being changed). Errors name the item
    /// (`image_file_ids[2]`).
    async fn images(
        &self,
        actor: &Actor,
        ids: Vec<FileId>,
        already: &[FileId],
        errors: &mut Vec<FieldError>,
    ) -> DomainResult<Vec<FileId>> {
        if ids.len() > MAX_IMAGES {
            errors.push(FieldError::new(
                "image_file_ids",
                format!("at most {MAX_IMAGES} images"),
            ));
            return Ok(ids);
        }
        let files: HashMap<FileId, _> = self
            .files
            .files_by_ids(&ids)
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
        let scope = FileScope::of(actor);
        let mut seen = HashSet::new();
        for (i, id) in ids.iter().enumerate() {
            let field = format!("image_file_ids[{i}]");
            if !seen.insert(*id) {
                errors.push(FieldError::new(field, "the same image twice"));
                continue;
            }
            match files.get(id) {
                Some(f) if f.file_type != FileType::PostImage => {
                    errors.push(FieldError::new(field, "must be a file of type post_image"))
                }
                Some(f) if already.contains(id) || scope.contains(f) => {}
                _ => errors.push(FieldError::new(
                    field,
                    "no such uploaded file in your scope",
                )),
            }
        }
        Ok(ids)
    }

    async fn show_one(&self, actor: &Actor, post: Post) -> DomainResult<PostView> {
        self.show(actor, vec![post])
            .await?
            .pop()
            .ok_or(DomainError::NotFound("post"))
    }

    /// The posts as the caller sees them, with their images' URLs (one file lookup and one
    /// URL-cache round trip for the whole page).
    async fn show(&self, actor: &Actor, posts: Vec<Post>) -> DomainResult<Vec<PostView>> {
        let ids: Vec<FileId> = posts
            .iter()
            .flat_map(|p| p.image_file_ids.iter().copied())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let files = if ids.is_empty() {
            Vec::new()
        } else {
            self.files.files_by_ids(&ids).await?
        };
        let urls = self.urls.urls_for(&files).await?;
        Ok(posts
            .into_iter()
            .map(|post| PostView {
                images: post
                    .image_file_ids
                    .iter()
                    .filter_map(|id| {
                        Some(PostImage {
                            file_id: *id,
                            url: urls.get(id)?.url.to_string(),
                        })
                    })
                    .collect(),
                unit_in_scope: actor.units.contains(Some(&post.unit_path)),
                can_edit: may_edit(actor, &post),
                can_pin: may_pin(actor, &post),
                post,
            })
            .collect())
    }
}

/// Post lists hold unit paths, unit names, authors' names and what each scope reads: a moved,
/// renamed or deleted unit, or a renamed author, changes them.
#[async_trait]
impl Listener for PostService {
    async fn on(&self, event: Event) {
        match event {
            Event::OrgTreeChanged | Event::OrgUnitsChanged | Event::UsersChanged => {
                self.changed().await
            }
            Event::MembersChanged | Event::MoneyChanged => {}
        }
    }
}

/// Whether the caller may edit and delete the post: its author or an administrator.
fn may_edit(actor: &Actor, post: &Post) -> bool {
    actor.is_admin || post.author_id == actor.user_id
}

/// Whether the caller may pin the post: an administrator or a writer of its unit.
fn may_pin(actor: &Actor, post: &Post) -> bool {
    actor.is_admin || actor.units.contains(Some(&post.unit_path))
}

fn required(value: Option<String>, field: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    if value.is_none() {
        errors.push(FieldError::new(field, "is required"));
    }
    value
}

/// A title: 1 to [`MAX_TITLE`] characters, not only spaces, no control characters; trimmed.
fn parse_title(raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    crate::shared::collect_field(validation::name("title", raw, MAX_TITLE), errors)
}

/// A body: markdown kept exactly as written, 1 to [`MAX_BODY`] characters, not only
/// whitespace, and no NUL (no database stores it in text).
fn parse_body(raw: String, errors: &mut Vec<FieldError>) -> Option<String> {
    if raw.contains('\0') {
        errors.push(FieldError::new("body", "must not contain NUL characters"));
        return None;
    }
    if raw.trim().is_empty() || raw.chars().count() > MAX_BODY {
        errors.push(FieldError::new(
            "body",
            format!("must be 1 to {MAX_BODY} characters, not only whitespace"),
        ));
        return None;
    }
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::Utc;

    use crate::access::{UnitPath, UnitScope};
    use crate::shared::UserId;

    fn actor(user: i64, is_admin: bool, units: UnitScope) -> Actor {
        Actor {
            user_id: UserId(user),
            is_admin,
            is_treasurer: false,
            org_unit_id: None,
            units,
            ip: None,
        }
    }

    fn post_on(path: &str, author: i64) -> Post {
        Post {
            id: PostId(1),
            org_unit_id: OrgUnitId(9),
            org_unit_name: "Cell".into(),
            unit_path: UnitPath::from_stored(path.into()),
            author_id: UserId(author),
            author_name: "Ana".into(),
            title: "t".into(),
            body: "b".into(),
            pinned: false,
            view_count: 0,
            image_file_ids: Vec::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn authors_and_admins_edit_and_the_units_writers_and_admins_pin() {
        let path = |p: &str| UnitScope::Subtree(UnitPath::from_stored(p.into()));
        let post = post_on("/1/2/3/", 7);
        let cases = [
            ("the author", actor(7, false, path("/1/2/3/")), true, true),
            (
                "the author, moved away",
                actor(7, false, path("/1/5/")),
                true,
                false,
            ),
            (
                "another writer of the unit",
                actor(8, false, path("/1/2/3/")),
                false,
                true,
            ),
            (
                "a writer above the unit",
                actor(8, false, path("/1/2/")),
                false,
                true,
            ),
            (
                "a reader below the unit",
                actor(8, false, path("/1/2/3/4/")),
                false,
                false,
            ),
            (
                "an administrator",
                actor(1, true, UnitScope::All),
                true,
                true,
            ),
            ("the centre", actor(8, false, UnitScope::All), false, true),
        ];
        for (who, actor, edit, pin) in cases {
            assert_eq!(may_edit(&actor, &post), edit, "{who} edits");
            assert_eq!(may_pin(&actor, &post), pin, "{who} pins");
        }
    }

    #[test]
    fn bodies_are_kept_as_written_and_titles_trimmed() {
        let mut errors = Vec::new();
        let body = "  # Hi\n\n<b>x</b>  \n";
        assert_eq!(parse_body(body.into(), &mut errors).as_deref(), Some(body));
        assert_eq!(parse_title("  Hi  ", &mut errors).as_deref(), Some("Hi"));
        assert!(errors.is_empty());
        for bad in [" \n\t", "a\0b"] {
            assert_eq!(parse_body(bad.into(), &mut errors), None, "{bad:?}");
        }
        assert_eq!(parse_body("x".repeat(MAX_BODY + 1), &mut errors), None);
        assert_eq!(
            parse_body("é".repeat(MAX_BODY), &mut errors).map(|b| b.chars().count()),
            Some(MAX_BODY),
            "characters, not bytes"
        );
        assert_eq!(parse_title("a\u{7}", &mut errors), None);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["body", "body", "body", "title"]);
    }
}
