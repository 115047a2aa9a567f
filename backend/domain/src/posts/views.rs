//! Post views. Each read of a post adds one to `post_views:<id>` in the state store (not
//! cache: a counter evicted or cleared would be views lost); a periodic job takes the counters
//! (`GETDEL`, so a view taken once is never taken again) and adds them to the database in one
//! transaction. The job's lock in the state store (`job:post_views_flush:lock`, with a fencing
//! token) keeps it to one instance at a time, and the transaction records the token so that a
//! holder whose lock expired mid-run cannot write after a later one; taking is what makes it
//! exact, the lock saves the others the work.
//!
//! The popular list is the sorted set `posts:popular` in the cache: post ids scored by views,
//! for posts written in the last 30 days. A read adds to it at once (`ZINCRBY`); the job sets
//! every score to the database's count after writing back and drops posts that are older or
//! gone, so a set lost to eviction or a restart is whole again after one run.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::jobs::{FencedWrite, JobLock, Lease};
use crate::posts::model::Post;
use crate::posts::repo::PostRepo;
use crate::shared::cache::Cache;
use crate::shared::time::Clock;
use crate::shared::{DomainError, DomainResult, PostId};

/// The sorted set of popular posts: post ids scored by views.
pub const POPULAR_KEY: &str = "posts:popular";
/// How recent a post must be to be popular: written within the last 30 days.
pub const POPULAR_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long the set lives without a view or a job run refreshing it.
const POPULAR_TTL: Duration = Duration::from_secs(31 * 24 * 3600);
/// The pending views of a post: `post_views:<id>`.
const PENDING_PREFIX: &str = "post_views:";
/// The write-back job's name: its lock is `job:post_views_flush:lock`.
pub const FLUSH_JOB: &str = "post_views_flush";
/// How long the lock of a direct [`PostViews::flush`] holds at most: a crashed holder frees it
/// by then. A run that outlives it is still exact (counters are taken atomically, and the
/// database refuses its write once a later holder wrote).
const FLUSH_LOCK_TTL: Duration = Duration::from_secs(60);

/// What one run of the write-back job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushOutcome {
    /// It wrote back `views` views of `posts` posts.
    Flushed {
        /// Posts whose count moved.
        posts: usize,
        /// Views written back.
        views: i64,
    },
    /// Another instance holds the lock: nothing was done.
    Busy,
}

/// Counts views, writes them back, and keeps the popular set.
pub struct PostViews {
    posts: Arc<dyn PostRepo>,
    state: Arc<dyn Cache>,
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
}

impl PostViews {
    /// Views counted in `state` (not evicted, not cleared) and the popular set kept in `cache`.
    pub fn new(
        posts: Arc<dyn PostRepo>,
        state: Arc<dyn Cache>,
        cache: Arc<dyn Cache>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            posts,
            state,
            cache,
            clock,
        }
    }

    /// Counts one view of `post`; answers its views so far (stored plus pending). When the
    /// state store does not answer, the view goes to the database at once, so none is lost.
    pub async fn count(&self, post: &Post) -> DomainResult<i64> {
        let total = match self.state.incr_by(&pending_key(post.id), 1).await {
            Ok(pending) => post.view_count + pending,
            Err(e) => {
                tracing::warn!(post_id = %post.id, error = %e, "could not count a view in the state store; writing it to the database");
                self.posts.add_views(&[(post.id, 1)], None).await?;
                post.view_count + 1
            }
        };
        if self.is_recent(post) {
            // The set is cache: a failure costs the ranking one view until the job runs.
            let _ = self
                .cache
                .zincr_by(POPULAR_KEY, &post.id.to_string(), 1.0, POPULAR_TTL)
                .await;
        }
        Ok(total)
    }

    /// Writes pending views back to the database, once across instances: takes the job's
    /// lock (as the periodic job does) and runs [`PostViews::flush_under`]; `Busy` when
    /// another holder has it.
    pub async fn flush(&self) -> DomainResult<FlushOutcome> {
        let lock = JobLock::new(Arc::clone(&self.state), FLUSH_LOCK_TTL);
        let Some(lease) = lock
            .acquire(FLUSH_JOB, "flush_views")
            .await
            .map_err(unavailable)?
        else {
            return Ok(FlushOutcome::Busy);
        };
        let result = self.flush_under(&lease).await;
        lease.release().await;
        result
    }

    /// One write-back, holding the job's lock. Each counter is taken (read and removed in one
    /// step) before its views are added, so a view counted meanwhile lands in a new counter
    /// for the next run; if the database refuses (or a later holder wrote already: the
    /// fence), what was taken is put back. Then the popular set is made to agree with the
    /// database.
    pub async fn flush_under(&self, lease: &Lease) -> DomainResult<FlushOutcome> {
        let keys = self
            .state
            .scan_prefix(PENDING_PREFIX)
            .await
            .map_err(unavailable)?;
        let mut taken: Vec<(PostId, i64)> = Vec::new();
        for key in keys {
            let Some(id) = key
                .strip_prefix(PENDING_PREFIX)
                .and_then(|id| id.parse().ok())
                .map(PostId)
            else {
                continue;
            };
            let value = match self.state.take(&key).await {
                Ok(value) => value,
                Err(e) => {
                    // What was taken so far must not be lost: write it back, then fail.
                    self.write_back(&taken, lease).await?;
                    return Err(unavailable(e));
                }
            };
            match value.as_deref().map(str::parse::<i64>) {
                Some(Ok(views)) if views > 0 => taken.push((id, views)),
                Some(Ok(_)) | None => {}
                Some(Err(_)) => {
                    tracing::warn!(key, "dropped a view counter that is not a number");
                }
            }
        }
        self.write_back(&taken, lease).await?;
        self.refresh_popular().await;
        Ok(FlushOutcome::Flushed {
            posts: taken.len(),
            views: taken.iter().map(|(_, v)| v).sum(),
        })
    }

    /// Adds taken views to the database under the lease's fence; when the database refuses
    /// them, puts them back in the state store.
    async fn write_back(&self, taken: &[(PostId, i64)], lease: &Lease) -> DomainResult<()> {
        if taken.is_empty() {
            return Ok(());
        }
        let refused = match self.posts.add_views(taken, Some(lease.fence())).await {
            Ok(FencedWrite::Written) => return Ok(()),
            Ok(FencedWrite::Stale { newer }) => {
                let ours = lease.fence().token;
                if lease.still_held().await {
                    // We hold the lock, yet the database has a larger token: the state store
                    // lost the counter. Move it past, so the next run writes.
                    tracing::warn!(
                        fence = ours,
                        newer,
                        "the view write-back's fence counter was behind the database; raised it"
                    );
                    let _ = lease.lock().raise_past(FLUSH_JOB, newer).await;
                }
                DomainError::Unexpected(anyhow::anyhow!(
                    "a later write-back (fence {newer}) wrote already; this run's fence {ours} is stale, its views were put back"
                ))
            }
            Err(e) => e,
        };
        for (id, views) in taken {
            if let Err(put_back) = self.state.incr_by(&pending_key(*id), *views).await {
                tracing::error!(post_id = %id, views, error = %put_back, "lost views: the database refused them and the state store could not take them back");
            }
        }
        Err(refused)
    }

    /// Sets every recent post's score to its stored count and drops the others from the set.
    async fn refresh_popular(&self) {
        let Ok(recent) = self.posts.view_counts_since(self.cutoff()).await else {
            return;
        };
        let scores: Vec<(String, f64)> = recent
            .iter()
            .filter(|(_, views)| *views > 0)
            .map(|(id, views)| (id.to_string(), *views as f64))
            .collect();
        let _ = self
            .cache
            .zset_scores(POPULAR_KEY, &scores, POPULAR_TTL)
            .await;
        let keep: HashSet<String> = recent.iter().map(|(id, _)| id.to_string()).collect();
        if let Ok(ranked) = self.cache.zrev_range(POPULAR_KEY, None).await {
            let stale: Vec<String> = ranked
                .into_iter()
                .map(|(member, _)| member)
                .filter(|m| !keep.contains(m))
                .collect();
            if !stale.is_empty() {
                let _ = self.cache.zrem(POPULAR_KEY, &stale).await;
            }
        }
    }

    /// Every popular post id with its views, most viewed first: from the set, or from the
    /// database (and put back in the set) when the set is empty or the cache does not answer.
    pub async fn ranking(&self) -> DomainResult<Vec<(PostId, i64)>> {
        let ranked = self
            .cache
            .zrev_range(POPULAR_KEY, None)
            .await
            .unwrap_or_default();
        let mut ranking: Vec<(PostId, i64)> = ranked
            .into_iter()
            .filter_map(|(member, score)| Some((PostId(member.parse().ok()?), score as i64)))
            .filter(|(_, views)| *views > 0)
            .collect();
        if ranking.is_empty() {
            ranking = self
                .posts
                .view_counts_since(self.cutoff())
                .await?
                .into_iter()
                .filter(|(_, views)| *views > 0)
                .collect();
            let scores: Vec<(String, f64)> = ranking
                .iter()
                .map(|(id, views)| (id.to_string(), *views as f64))
                .collect();
            let _ = self
                .cache
                .zset_scores(POPULAR_KEY, &scores, POPULAR_TTL)
                .await;
        }
        ranking.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        Ok(ranking)
    }

    /// Forgets a deleted post: its pending views and its place in the set.
    pub async fn forget(&self, id: PostId) {
        let _ = self.state.delete(&[pending_key(id)]).await;
        let _ = self.cache.zrem(POPULAR_KEY, &[id.to_string()]).await;
    }

    /// Whether a post is recent enough to be popular.
    pub fn is_recent(&self, post: &Post) -> bool {
        post.created_at >= self.cutoff()
    }

    fn cutoff(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now() - chrono::TimeDelta::from_std(POPULAR_WINDOW).unwrap_or_default()
    }
}

/// The state-store key of a post's pending views.
fn pending_key(id: PostId) -> String {
    format!("{PENDING_PREFIX}{id}")
}

fn unavailable(e: crate::shared::cache::CacheError) -> DomainError {
    tracing::warn!(error = %e, "the state store does not answer");
    DomainError::Unavailable("the state store".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};

    use crate::access::UnitPath;
    use crate::jobs::Fence;
    use crate::posts::model::{BoardScope, NewPost, PostFilter, PostUpdate};
    use crate::shared::fakes::MapCache;
    use crate::shared::time::SystemClock;
    use crate::shared::{OrgUnitId, Page, PageRequest, UserId};

    /// Stored view counts by post; `refuse` makes the next write-backs fail.
    #[derive(Default)]
    struct Counts {
        stored: Mutex<HashMap<PostId, i64>>,
        created: HashMap<PostId, DateTime<Utc>>,
        refuse: AtomicBool,
        /// The largest fence that wrote.
        fence: Mutex<u64>,
    }

    #[async_trait]
    impl PostRepo for Counts {
        async fn insert_post(&self, _: NewPost) -> DomainResult<Post> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn post_by_id(&self, _: PostId) -> DomainResult<Option<Post>> {
            Ok(None)
        }
        async fn list_posts(&self, _: PostFilter, _: PageRequest) -> DomainResult<Page<Post>> {
            Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
        }
        async fn posts_by_ids(&self, _: &BoardScope, _: &[PostId]) -> DomainResult<Vec<Post>> {
            Ok(Vec::new())
        }
        async fn update_post(&self, _: PostId, _: &PostUpdate) -> DomainResult<Option<Post>> {
            Ok(None)
        }
        async fn delete_post(&self, _: PostId) -> DomainResult<bool> {
            Ok(false)
        }
        async fn add_views(
            &self,
            views: &[(PostId, i64)],
            fence: Option<&Fence>,
        ) -> DomainResult<FencedWrite> {
            if self.refuse.load(Ordering::SeqCst) {
                return Err(DomainError::Unavailable("the database".into()));
            }
            // A little time inside the "transaction", so concurrent runs overlap.
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Some(fence) = fence {
                let mut recorded = self.fence.lock().unwrap();
                if *recorded > fence.token {
                    return Ok(FencedWrite::Stale { newer: *recorded });
                }
                *recorded = fence.token;
            }
            let mut stored = self.stored.lock().unwrap();
            for (id, n) in views {
                *stored.entry(*id).or_default() += n;
            }
            Ok(FencedWrite::Written)
        }
        async fn view_counts_since(
            &self,
            since: DateTime<Utc>,
        ) -> DomainResult<Vec<(PostId, i64)>> {
            let stored = self.stored.lock().unwrap();
            Ok(self
                .created
                .iter()
                .filter(|(_, at)| **at >= since)
                .map(|(id, _)| (*id, stored.get(id).copied().unwrap_or(0)))
                .collect())
        }
    }

    fn post(id: i64, created_at: DateTime<Utc>) -> Post {
        Post {
            id: PostId(id),
            org_unit_id: OrgUnitId(1),
            org_unit_name: "CC".into(),
            unit_path: UnitPath::from_stored("/1/".into()),
            author_id: UserId(1),
            author_name: "Ana".into(),
            title: "t".into(),
            body: "b".into(),
            pinned: false,
            view_count: 0,
            image_file_ids: Vec::new(),
            created_at,
            updated_at: created_at,
        }
    }

    fn repo() -> Arc<Counts> {
        let old = Utc::now() - chrono::TimeDelta::days(40);
        Arc::new(Counts {
            created: HashMap::from([
                (PostId(1), Utc::now()),
                (PostId(2), Utc::now()),
                (PostId(3), old),
            ]),
            ..Counts::default()
        })
    }

    /// An instance of the app: its own `PostViews` over the shared Redis and database.
    fn instance(repo: &Arc<Counts>, redis: &Arc<MapCache>) -> Arc<PostViews> {
        Arc::new(PostViews::new(
            Arc::clone(repo) as Arc<dyn PostRepo>,
            Arc::clone(redis) as Arc<dyn Cache>,
            Arc::clone(redis) as Arc<dyn Cache>,
            Arc::new(SystemClock),
        ))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_instances_flushing_at_once_write_every_view_back_exactly_once() {
        let repo = repo();
        let redis = Arc::new(MapCache::shared());
        let (a, b) = (instance(&repo, &redis), instance(&repo, &redis));
        for i in 0..30 {
            let views = if i % 2 == 0 { &a } else { &b };
            views.count(&post(1 + i % 2, Utc::now())).await.unwrap();
        }
        let (one, two) = tokio::join!(a.flush(), b.flush());
        let outcomes = [one.unwrap(), two.unwrap()];
        assert!(outcomes.contains(&FlushOutcome::Busy), "{outcomes:?}");
        assert!(outcomes.contains(&FlushOutcome::Flushed {
            posts: 2,
            views: 30
        }));
        // Runs after it find nothing left, and the lock was released by its holder.
        assert_eq!(
            b.flush().await.unwrap(),
            FlushOutcome::Flushed { posts: 0, views: 0 }
        );
        assert_eq!(redis.value("job:post_views_flush:lock"), None);
        let stored = repo.stored.lock().unwrap().clone();
        assert_eq!(stored, HashMap::from([(PostId(1), 15), (PostId(2), 15)]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn views_counted_while_flushing_are_neither_lost_nor_counted_twice() {
        let repo = repo();
        let redis = Arc::new(MapCache::shared());
        let (a, b) = (instance(&repo, &redis), instance(&repo, &redis));
        let counting = {
            let a = Arc::clone(&a);
            tokio::spawn(async move {
                for _ in 0..200 {
                    a.count(&post(1, Utc::now())).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        };
        for _ in 0..10 {
            let _ = tokio::join!(a.flush(), b.flush());
        }
        counting.await.unwrap();
        let _ = a.flush().await.unwrap();
        assert_eq!(repo.stored.lock().unwrap()[&PostId(1)], 200);
    }

    #[tokio::test]
    async fn views_the_database_refuses_are_put_back_for_the_next_run() {
        let repo = repo();
        let redis = Arc::new(MapCache::shared());
        let views = instance(&repo, &redis);
        for _ in 0..3 {
            views.count(&post(1, Utc::now())).await.unwrap();
        }
        repo.refuse.store(true, Ordering::SeqCst);
        assert!(matches!(
            views.flush().await,
            Err(DomainError::Unavailable(_))
        ));
        assert_eq!(redis.value("post_views:1").as_deref(), Some("3"));
        assert_eq!(
            redis.value("job:post_views_flush:lock"),
            None,
            "released after a failure too"
        );
        repo.refuse.store(false, Ordering::SeqCst);
        assert_eq!(
            views.flush().await.unwrap(),
            FlushOutcome::Flushed { posts: 1, views: 3 }
        );
        assert_eq!(repo.stored.lock().unwrap()[&PostId(1)], 3);
    }

    #[tokio::test]
    async fn a_holder_whose_lock_was_taken_over_cannot_write_after_the_new_holder() {
        let repo = repo();
        let redis = Arc::new(MapCache::shared());
        let views = instance(&repo, &redis);
        let lock = JobLock::new(Arc::clone(&redis) as Arc<dyn Cache>, FLUSH_LOCK_TTL);
        let stale = lock
            .acquire(FLUSH_JOB, "flush_views")
            .await
            .unwrap()
            .unwrap();
        // Its lock "expires" and another instance takes it with a larger token and writes.
        redis.0.lock().unwrap().remove("job:post_views_flush:lock");
        let fresh = lock
            .acquire(FLUSH_JOB, "flush_views")
            .await
            .unwrap()
            .unwrap();
        assert!(fresh.fence().token > stale.fence().token);
        views.count(&post(1, Utc::now())).await.unwrap();
        views.flush_under(&fresh).await.unwrap();
        // The stale holder wakes up with views it took: the database refuses them, and they
        // are put back for the next run, not lost and not counted twice.
        views.count(&post(1, Utc::now())).await.unwrap();
        assert!(views.flush_under(&stale).await.is_err());
        assert_eq!(redis.value("post_views:1").as_deref(), Some("1"));
        views.flush_under(&fresh).await.unwrap();
        assert_eq!(repo.stored.lock().unwrap()[&PostId(1)], 2);
    }

    #[tokio::test]
    async fn a_fence_counter_lost_by_the_state_store_is_raised_past_the_database() {
        let repo = repo();
        let redis = Arc::new(MapCache::shared());
        let views = instance(&repo, &redis);
        *repo.fence.lock().unwrap() = 40;
        views.count(&post(1, Utc::now())).await.unwrap();
        assert!(views.flush().await.is_err(), "token 1 is below 40");
        assert_eq!(
            views.flush().await.unwrap(),
            FlushOutcome::Flushed { posts: 1, views: 1 }
        );
        assert_eq!(repo.stored.lock().unwrap()[&PostId(1)], 1);
    }

    #[tokio::test]
    async fn the_ranking_is_by_views_and_keeps_only_recent_posts() {
        let repo = repo();
        let redis = Arc::new(MapCache::shared());
        let views = instance(&repo, &redis);
        let old = post(3, Utc::now() - chrono::TimeDelta::days(40));
        for (p, n) in [
            (post(1, Utc::now()), 1),
            (post(2, Utc::now()), 3),
            (old.clone(), 5),
        ] {
            for _ in 0..n {
                views.count(&p).await.unwrap();
            }
        }
        // An old post is counted but never ranked.
        assert_eq!(
            views.ranking().await.unwrap(),
            vec![(PostId(2), 3), (PostId(1), 1)]
        );
        views.flush().await.unwrap();
        assert_eq!(repo.stored.lock().unwrap()[&PostId(3)], 5);
        // Lost set: rebuilt from the database.
        redis.0.lock().unwrap().remove(POPULAR_KEY);
        assert_eq!(
            views.ranking().await.unwrap(),
            vec![(PostId(2), 3), (PostId(1), 1)]
        );
        views.forget(PostId(2)).await;
        assert_eq!(views.ranking().await.unwrap(), vec![(PostId(1), 1)]);
    }
}
