//! The one hook through which a change in one context reaches the others: a service publishes
//! an [`Event`], and the contexts that keep something derived from it (cached profiles, cached
//! member lists) listen. Start-up wires the listeners, so no context calls another's service.

use std::sync::Arc;

use async_trait::async_trait;

/// Something that happened which other contexts may keep derived data of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Units were moved: every unit path below them changed, and with them scopes.
    OrgTreeChanged,
    /// Dues or payments were added, changed or removed (a treasurer's member list follows them).
    MoneyChanged,
}

/// A context that keeps data derived from events.
#[async_trait]
pub trait Listener: Send + Sync {
    /// Reacts to an event; failures are the listener's to log (the change itself happened).
    async fn on(&self, event: Event);
}

/// The listeners, in the order start-up gave them.
#[derive(Clone, Default)]
pub struct Events {
    listeners: Vec<Arc<dyn Listener>>,
}

impl Events {
    /// Events delivered to these listeners.
    pub fn new(listeners: Vec<Arc<dyn Listener>>) -> Self {
        Self { listeners }
    }

    /// Tells every listener.
    pub async fn publish(&self, event: Event) {
        for listener in &self.listeners {
            listener.on(event).await;
        }
    }
}
