//! Live progress of imports: the job announces each committed chunk on the instance-wide bus (Redis
//! pub/sub); this hub hands the news to the progress streams of this instance. Streams also re-read the
//! import every second, so progress keeps flowing while Redis is down.

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{
    coordination::{Invalidation, InvalidationListener},
    domain::TenantId,
};

pub struct ProgressHub {
    sender: broadcast::Sender<(TenantId, Uuid)>,
}

impl Default for ProgressHub {
    fn default() -> Self {
        ProgressHub {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl ProgressHub {
    pub fn subscribe(&self) -> broadcast::Receiver<(TenantId, Uuid)> {
        self.sender.subscribe()
    }
}

impl InvalidationListener for ProgressHub {
    fn invalidate(&self, message: &Invalidation) {
        if let Invalidation::ImportProgress {
            tenant_id,
            import_id,
        } = message
        {
            // Nobody listening is fine.
            let _ = self.sender.send((*tenant_id, *import_id));
        }
    }

    fn flush(&self) {}
}
