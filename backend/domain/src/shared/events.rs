//! The one hook through which a change in one context reaches the others: a service publishes
//! an [`Event`], and the contexts that keep something derived from it (cached profiles, cached
//! member lists) listen. Start-up wires the listeners, so no context calls another's service.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

/// Something that happened which other contexts may keep derived data of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Units were moved: every unit path below them changed, and with them scopes.
    OrgTreeChanged,
    /// Units were created, renamed or deleted (paths of other units stayed as they were).
    OrgUnitsChanged,
    /// Members were added, changed or removed.
    MembersChanged,
    /// Dues or payments were added, changed or removed (a treasurer's member list follows them).
    MoneyChanged,
    /// A user was renamed (its name is shown beside what it wrote; a user who wrote posts cannot
    /// be deleted).
    UsersChanged,
}

/// A context that keeps data derived from events.
#[async_trait]
pub trait Listener: Send + Sync {
    /// Reacts to an event; failures are the listener's to log (the change itself happened).
    async fn on(&self, event: Event);
}

/// The listeners, in the order start-up gave them. Services are built with a handle first and
/// start-up wires the listeners once every service exists, since a service may both publish and
/// listen (members publish their changes and follow the money).
#[derive(Clone, Default)]
pub struct Events {
    listeners: Arc<OnceLock<Vec<Arc<dyn Listener>>>>,
}

impl Events {
    /// Events delivered to these listeners.
    pub fn new(listeners: Vec<Arc<dyn Listener>>) -> Self {
        let events = Self::default();
        events.wire(listeners);
        events
    }

    /// Sets the listeners of this handle and of every clone of it; only the first call counts
    /// (start-up makes it once). Until then, events reach nobody.
    pub fn wire(&self, listeners: Vec<Arc<dyn Listener>>) {
        if self.listeners.set(listeners).is_err() {
            tracing::warn!("event listeners were wired twice; the first wiring stays");
        }
    }

    /// Tells every listener.
    pub async fn publish(&self, event: Event) {
        for listener in self.listeners.get().map(Vec::as_slice).unwrap_or_default() {
            listener.on(event).await;
        }
    }
}
