//! A closable queue between a producer thread and an async consumer, which
//! is what every media stream needs: frames arrive on the source's thread,
//! a task forwards them, and a consumer that falls behind should lose the
//! oldest frames rather than see ever older ones.

use std::collections::VecDeque;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// A FIFO with an optional bound (dropping the oldest) that ends on close.
pub struct FrameQueue<T> {
    limit: Option<usize>,
    state: Mutex<State<T>>,
    ready: Notify,
}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

impl<T> FrameQueue<T> {
    /// A queue keeping at most `limit` items (`None`: unbounded).
    pub fn new(limit: Option<usize>) -> Self {
        Self {
            limit: limit.filter(|&n| n > 0),
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            ready: Notify::new(),
        }
    }

    /// Appends items, dropping the oldest beyond the bound; nothing is added
    /// once the queue is closed.
    pub fn push(&self, items: impl IntoIterator<Item = T>) {
        let mut state = self.state.lock();
        if state.closed {
            return;
        }
        let before = state.items.len();
        state.items.extend(items);
        if let Some(limit) = self.limit {
            let excess = state.items.len().saturating_sub(limit);
            state.items.drain(..excess);
        }
        let added = state.items.len() != before;
        drop(state);
        if added {
            self.ready.notify_one();
        }
    }

    /// The next item, or `None` once the queue is closed.
    pub async fn pop(&self) -> Option<T> {
        loop {
            {
                let mut state = self.state.lock();
                if let Some(item) = state.items.pop_front() {
                    return Some(item);
                }
                if state.closed {
                    return None;
                }
            }
            // A notify_one that raced with the check above left a permit,
            // so this wait cannot miss it.
            self.ready.notified().await;
        }
    }

    /// Whether [`FrameQueue::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Ends the queue and discards what is unread: a consumer that closes a
    /// live stream wants it to end now, not after the backlog.
    pub fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        state.items.clear();
        drop(state);
        self.ready.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn keeps_order_and_drops_the_oldest_beyond_the_bound() {
        let queue = FrameQueue::new(Some(2));
        queue.push([1, 2, 3]);
        queue.push([4]);
        block_on(async {
            assert_eq!(queue.pop().await, Some(3));
            assert_eq!(queue.pop().await, Some(4));
        });
    }

    #[test]
    fn close_discards_and_ends() {
        let queue = FrameQueue::new(None);
        queue.push([1, 2]);
        queue.close();
        queue.push([3]);
        assert!(queue.is_closed());
        assert_eq!(block_on(queue.pop()), None);
    }

    #[test]
    fn a_waiting_consumer_wakes_on_push_from_another_thread() {
        let queue = std::sync::Arc::new(FrameQueue::new(None));
        let producer = queue.clone();
        let handle = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            producer.push([7]);
        });
        assert_eq!(block_on(queue.pop()), Some(7));
        handle.join().unwrap();
    }
}
