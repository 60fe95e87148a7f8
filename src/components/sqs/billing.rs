//! What a queue is billed (prices from the run's price list, `models/prices.toml`): its API
//! requests, per million, at the standard or the FIFO price, each 64 KB chunk of a request's
//! payload one request. Counted when the call is made in the measured window:
//! - SendMessage: each send the queue accepts (a FIFO send throttled beyond 300/s is not);
//!   moves to a dead-letter queue and redrives are SQS's own, not sends;
//! - ReceiveMessage: each receive that returned messages (chunks of their total `item_kb`; an
//!   event source mapping's batch of more than 10 takes one receive per 10 messages),
//!   and each empty one: a short poll that found nothing, or a long poll that waited its whole
//!   `receive_wait` (so long polling's saving shows); a long poll that returns a message is
//!   one request;
//! - DeleteMessage: a poller deletes each message it processed successfully (an extra copy
//!   too: the call is made, it deletes nothing); an event source mapping deletes a successful
//!   batch with DeleteMessageBatch, one request per 10 messages;
//! - ChangeMessageVisibility: each heartbeat.
//!
//! Not counted: the first million requests a month of the free tier, and the long polls of an
//! event source mapping's idle pollers (the model does not run them: the mapping receives when
//! messages are there).

use super::QueueType;
use crate::defaults::SqsPrices;
use crate::metrics::cost::{Bill, dollars};

/// KB of payload billed as one request.
const CHUNK_KB: f64 = 64.0;

/// Billed requests of a payload of `kb` KB: one per 64 KB chunk, at least one.
pub(super) fn chunks(kb: f64) -> u64 {
    (kb.max(0.0) / CHUNK_KB).ceil().max(1.0) as u64
}

/// A queue's billed requests in the window, by API action.
#[derive(Copy, Clone, Debug, Default)]
pub(super) struct Requests {
    pub sends: u64,
    pub receives: u64,
    pub empty_receives: u64,
    pub deletes: u64,
    pub visibility_changes: u64,
}

impl Requests {
    fn total(&self) -> u64 {
        self.sends + self.receives + self.empty_receives + self.deletes + self.visibility_changes
    }

    /// The bill of these requests to a queue of `queue_type` at `prices`.
    pub(super) fn bill(&self, queue_type: QueueType, prices: &SqsPrices) -> Bill {
        let (price, label) = match queue_type {
            QueueType::Standard => (prices.usd_per_million_standard, "standard"),
            QueueType::Fifo => (prices.usd_per_million_fifo, "FIFO"),
        };
        let total = self.total();
        Bill::default().charge(
            total as f64 / 1e6,
            "million requests",
            price,
            format!(
                "{total} requests ({} sends, {} receives, {} empty receives, {} deletes, {} \
                 visibility changes; each 64 KB of payload one request) × {} per million \
                 ({label})",
                self.sends,
                self.receives,
                self.empty_receives,
                self.deletes,
                self.visibility_changes,
                dollars(price)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_64_kb_chunk_is_a_request() {
        assert_eq!(chunks(0.0), 1);
        assert_eq!(chunks(1.0), 1);
        assert_eq!(chunks(64.0), 1);
        assert_eq!(chunks(64.5), 2);
        assert_eq!(chunks(256.0), 4);
    }
}
