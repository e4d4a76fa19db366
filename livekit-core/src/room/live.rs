//! The session a room runs on, and the full reconnect that replaces it
//! (brief §5 "Full reconnect").
//!
//! A resume keeps the session. When the server has lost it instead (it
//! answers a resume, or interrupts us, with `Leave{RECONNECT}`), only a
//! new join brings the room back. [`Live`] holds the current session for
//! the [`Room`](super::Room) handle and its data queue, and runs the new
//! join in the official library's order:
//!
//! 1. every remote participant is reported gone (tracks unsubscribed and
//!    unpublished first), then `Reconnecting` unless a resume already said
//!    so;
//! 2. the old session is closed without a word to the host, and a new one
//!    joins, reporting into the same event stream (up to ten attempts,
//!    with the resume's backoff);
//! 3. the participants come back as `ParticipantConnected` and
//!    `TrackPublished`, we learn our new SID (`ParticipantsUpdated`), and
//!    each local track is published again (`LocalTrackRepublished`);
//! 4. `Connected` and `Reconnected`.
//!
//! When no attempt succeeds, the stream ends with `Disconnected` and the
//! reason the server gave. Data tracks are not published again: their
//! handles end as on a disconnect.

use std::sync::{Arc, Weak};

use livekit_protocol as proto;
use parking_lot::RwLock;
use tokio::sync::{mpsc, watch};

use super::connect;
use super::events::{ConnectionState, RoomEvent};
use super::options::RoomOptions;
use super::resume::{MAX_ATTEMPTS, backoff};
use super::session::Session;
use super::state::RoomState;

/// A session's request for a full reconnect.
pub(crate) struct RejoinRequest {
    /// The session that asked: a request from one already replaced is
    /// stale.
    from: Weak<Session>,
    /// The server's `DisconnectReason`, reported if the room cannot rejoin.
    reason: i32,
    /// Whether `Reconnecting` was already reported (by a resume).
    announced: bool,
}

/// The session a room runs on now.
pub(crate) struct Live {
    session: RwLock<Arc<Session>>,
    url: String,
    options: RoomOptions,
    /// Set when the host leaves; a full reconnect stops at its next step.
    left: watch::Sender<bool>,
    /// True while a full reconnect runs: queued data waits for its end.
    rejoining: watch::Sender<bool>,
    requests: mpsc::UnboundedSender<RejoinRequest>,
}

impl Live {
    /// Take over a joined session and start serving its full reconnects.
    pub(super) fn start(session: Arc<Session>, url: &str, options: RoomOptions) -> Arc<Self> {
        let (requests, mut incoming) = mpsc::unbounded_channel();
        let _ = session.rejoin.set(requests.clone());
        let live = Arc::new(Self {
            session: RwLock::new(session),
            url: url.to_owned(),
            options,
            left: watch::channel(false).0,
            rejoining: watch::channel(false).0,
            requests,
        });
        let weak = Arc::downgrade(&live);
        tokio::spawn(async move {
            while let Some(request) = incoming.recv().await {
                let Some(live) = weak.upgrade() else {
                    return;
                };
                live.rejoin(request).await;
            }
        });
        live
    }

    /// The current session.
    pub(super) fn session(&self) -> Arc<Session> {
        self.session.read().clone()
    }

    /// The session data should go to: during a full reconnect, the one
    /// that comes out of it.
    pub(super) async fn session_for_data(&self) -> Arc<Session> {
        let mut rejoining = self.rejoining.subscribe();
        let _ = rejoining.wait_for(|busy| !*busy).await;
        self.session()
    }

    /// The host leaves: close the current session and stop a full
    /// reconnect in progress.
    pub(super) async fn leave(&self, reason: i32) {
        self.left.send_replace(true);
        self.session().close(reason, true).await;
    }

    /// Whether a full reconnect is running.
    pub(super) fn is_rejoining(&self) -> bool {
        *self.rejoining.borrow()
    }

    fn has_left(&self) -> bool {
        *self.left.borrow()
    }

    async fn rejoin(&self, request: RejoinRequest) {
        let old = self.session();
        let current = request
            .from
            .upgrade()
            .is_some_and(|s| Arc::ptr_eq(&s, &old));
        if !current || old.is_closed() || self.has_left() {
            return;
        }
        let Some(events) = old.events_sender() else {
            return;
        };
        self.rejoining.send_replace(true);
        old.drop_participants(|_| true);
        if !request.announced {
            old.emit([
                RoomEvent::ConnectionStateChanged(ConnectionState::Reconnecting),
                RoomEvent::Reconnecting,
            ]);
        }
        let publications = old.republishable();
        let token = old.signal.token();
        old.retire().await;

        let mut left = self.left.subscribe();
        for attempt in 1..=MAX_ATTEMPTS {
            if attempt > 1 {
                tokio::select! {
                    _ = tokio::time::sleep(backoff(attempt - 1)) => {}
                    _ = left.wait_for(|left| *left) => {}
                }
            }
            if self.has_left() {
                break;
            }
            let joined =
                connect::join_once(&self.url, &token, &self.options, events.clone(), true).await;
            let new = match joined {
                Ok(session) => session,
                Err(err) if connect::retryable(&err) => {
                    log::warn!("full reconnect attempt {attempt}/{MAX_ATTEMPTS} failed: {err}");
                    continue;
                }
                Err(err) => {
                    log::warn!("full reconnect refused: {err}");
                    break;
                }
            };
            let _ = new.rejoin.set(self.requests.clone());
            if self.has_left() {
                new.close(proto::DisconnectReason::ClientInitiated as i32, true)
                    .await;
                self.rejoining.send_replace(false);
                return;
            }
            *self.session.write() = new.clone();
            // From here the new session reports: a host leaving now closes
            // it, and its Disconnected must be the stream's last event.
            drop(events);
            new.release_events(announcements(&new.signal.join_response()));
            self.rejoining.send_replace(false);
            republish(&new, publications).await;
            new.emit([
                RoomEvent::ConnectionStateChanged(ConnectionState::Connected),
                RoomEvent::Reconnected,
            ]);
            log::info!("rejoined the room after {attempt} attempt(s)");
            return;
        }
        let reason = if self.has_left() {
            proto::DisconnectReason::ClientInitiated as i32
        } else {
            request.reason
        };
        let _ = events.send(RoomEvent::ConnectionStateChanged(
            ConnectionState::Disconnected,
        ));
        let _ = events.send(RoomEvent::Disconnected { reason });
        self.rejoining.send_replace(false);
    }
}

/// What a new join tells the host about the room: everyone in it, with
/// their tracks, and our own new description.
fn announcements(join: &proto::JoinResponse) -> Vec<RoomEvent> {
    let mut empty = RoomState::from_join(&proto::JoinResponse {
        other_participants: Vec::new(),
        ..join.clone()
    });
    let mut events = empty.apply_participant_update(&join.other_participants);
    events.retain(|e| !matches!(e, RoomEvent::ParticipantsUpdated(_)));
    if let Some(local) = &join.participant {
        events.push(RoomEvent::ParticipantsUpdated(vec![local.clone()]));
    }
    events
}

/// Publish the old session's tracks on the new one. The publications get
/// new SIDs; `LocalTrackRepublished` maps each old one to its new one.
async fn republish(
    session: &Arc<Session>,
    publications: Vec<(
        proto::TrackInfo,
        Arc<crate::track::LocalAudioTrack>,
        super::AudioPublishOptions,
    )>,
) {
    for (old, track, options) in publications {
        match session.publish_audio(track, options).await {
            Ok(track) => session.emit([RoomEvent::LocalTrackRepublished {
                previous_sid: old.sid,
                track,
            }]),
            Err(err) => log::warn!("track {} not published again: {err}", old.sid),
        }
    }
}

impl Session {
    /// Ask the room for a full reconnect; a session no room serves (one
    /// still joining) closes instead.
    pub(super) async fn request_rejoin(self: &Arc<Self>, reason: i32, announced: bool) {
        let request = RejoinRequest {
            from: Arc::downgrade(self),
            reason,
            announced,
        };
        match self.rejoin.get().map(|tx| tx.send(request)) {
            Some(Ok(())) => log::warn!("the server lost this session; joining the room again"),
            _ => {
                log::warn!("the server lost this session; closing");
                self.close(reason, false).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::participant_info::State;

    fn participant(sid: &str, identity: &str, tracks: &[&str]) -> proto::ParticipantInfo {
        proto::ParticipantInfo {
            sid: sid.into(),
            identity: identity.into(),
            state: State::Active as i32,
            tracks: tracks
                .iter()
                .map(|sid| proto::TrackInfo {
                    sid: (*sid).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_new_join_announces_everyone_then_our_new_description() {
        let join = proto::JoinResponse {
            participant: Some(participant("PA_new", "me", &[])),
            other_participants: vec![participant("PA_bob", "bob", &["TR_1", "TR_2"])],
            ..Default::default()
        };
        let names: Vec<String> = announcements(&join)
            .iter()
            .map(|e| match e {
                RoomEvent::ParticipantConnected(p) => format!("connected {}", p.identity),
                RoomEvent::TrackPublished { track, .. } => format!("published {}", track.sid),
                RoomEvent::ParticipantActive(identity) => format!("active {identity}"),
                RoomEvent::ParticipantsUpdated(p) => format!("updated {}", p[0].sid),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            [
                "connected bob",
                "published TR_1",
                "published TR_2",
                "active bob",
                "updated PA_new"
            ]
        );
    }
}
