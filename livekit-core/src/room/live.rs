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

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use livekit_protocol as proto;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, watch};

use super::connect;
use super::error::RoomError;
use super::events::{ConnectionState, RoomEvent};
use super::options::RoomOptions;
use super::resume::{MAX_ATTEMPTS, backoff};
use super::session::Session;
use super::state::RoomState;
use super::{AudioPublishOptions, TrackPermission};
use crate::track::LocalAudioTrack;

/// How long leaving waits for a full reconnect to report the disconnect.
const LEAVE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Subscription permissions: everyone allowed, and the grants.
type Permissions = (bool, Vec<TrackPermission>);

/// A publication to make again: as it was, its track and its options.
type Republish = (proto::TrackInfo, Arc<LocalAudioTrack>, AudioPublishOptions);

/// A session's request for a full reconnect.
pub(crate) struct RejoinRequest {
    /// The session that asked: a request from one already replaced is
    /// stale.
    from: Weak<Session>,
    /// The server's `DisconnectReason`, reported if the room cannot rejoin.
    reason: i32,
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
    /// The host's last subscription permissions, with a count of changes:
    /// a new join starts from the server's default (everyone may
    /// subscribe), so they are sent again.
    permissions: Mutex<(u64, Option<Permissions>)>,
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
            permissions: Mutex::new((0, None)),
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

    /// The session once any full reconnect is over: what a request made
    /// meanwhile (data, metadata, mute, unpublish) should go to, rather
    /// than fail on the session being replaced.
    pub(super) async fn settled(&self) -> Arc<Session> {
        if self.is_rejoining() {
            self.rejoin_over().await;
        }
        self.session()
    }

    /// Wait until no full reconnect runs.
    async fn rejoin_over(&self) {
        let mut rejoining = self.rejoining.subscribe();
        let _ = rejoining.wait_for(|busy| !*busy).await;
    }

    /// The host leaves: close the current session and stop a full
    /// reconnect in progress, then wait (briefly) for that reconnect to
    /// report the disconnect.
    pub(super) async fn leave(&self, reason: i32) {
        self.left.send_replace(true);
        // A full reconnect checks `left` and installs its new session under
        // the write lock: this read sees that session, or it sees `left`.
        let session = self.session();
        session.close(reason, true).await;
        let _ = tokio::time::timeout(LEAVE_WAIT, self.rejoin_over()).await;
    }

    /// Whether a full reconnect is running.
    pub(super) fn is_rejoining(&self) -> bool {
        *self.rejoining.borrow()
    }

    /// Replace who may subscribe to our tracks, and remember it.
    pub(super) fn set_track_permissions(&self, all: bool, permissions: Vec<TrackPermission>) {
        {
            let mut saved = self.permissions.lock();
            saved.0 = saved.0.wrapping_add(1);
            saved.1 = Some((all, permissions.clone()));
        }
        self.session().set_track_permissions(all, permissions);
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
        // A resume that handed over has said Reconnecting already; one that
        // finished meanwhile has said Reconnected.
        let announced = old.resume.is_active();
        old.drop_participants(|_| true);
        if !announced {
            old.emit([
                RoomEvent::ConnectionStateChanged(ConnectionState::Reconnecting),
                RoomEvent::Reconnecting,
            ]);
        }
        let publications = old.republishable();
        let token = old.signal.token();
        if !old.retire().await {
            // The host closed it meanwhile, and that close reported.
            self.rejoining.send_replace(false);
            return;
        }

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
            match self.join_again(&token, &events).await {
                Ok(Some(new)) => {
                    drop(events);
                    self.take_over(new, publications).await;
                    log::info!("rejoined the room after {attempt} attempt(s)");
                    return;
                }
                Ok(None) => break,
                Err(err) if connect::retryable(&err) => {
                    log::warn!("full reconnect attempt {attempt}/{MAX_ATTEMPTS} failed: {err}");
                }
                Err(err) => {
                    log::warn!("full reconnect refused: {err}");
                    break;
                }
            }
        }
        let reason = if self.has_left() {
            proto::DisconnectReason::ClientInitiated as i32
        } else {
            request.reason
        };
        self.rejoining.send_replace(false);
        let _ = events.send(RoomEvent::ConnectionStateChanged(
            ConnectionState::Disconnected,
        ));
        let _ = events.send(RoomEvent::Disconnected { reason });
    }

    /// One join into the room's stream, installed as the current session
    /// unless the host left meanwhile (`Ok(None)`). The join runs on its own
    /// task, so a host leaving does not wait for it.
    async fn join_again(
        &self,
        token: &str,
        events: &mpsc::UnboundedSender<RoomEvent>,
    ) -> Result<Option<Arc<Session>>, RoomError> {
        let (url, token, options) = (self.url.clone(), token.to_owned(), self.options.clone());
        let events = events.clone();
        let mut join =
            tokio::spawn(
                async move { connect::join_once(&url, &token, &options, events, true).await },
            );
        let mut left = self.left.subscribe();
        let joined = tokio::select! {
            joined = &mut join => joined.unwrap_or(Err(RoomError::Closed)),
            _ = left.wait_for(|left| *left) => {
                tokio::spawn(async move {
                    if let Ok(Ok(session)) = join.await {
                        session.retire().await;
                    }
                });
                return Ok(None);
            }
        };
        let new = joined?;
        let _ = new.rejoin.set(self.requests.clone());
        if new.is_closed() {
            // The server dropped it before it could ask us to rejoin.
            return Err(RoomError::Closed);
        }
        let mut current = self.session.write();
        if self.has_left() {
            drop(current);
            new.retire().await;
            return Ok(None);
        }
        *current = new.clone();
        Ok(Some(new))
    }

    /// The new session is current: announce the room, publish our tracks
    /// again with the host's permissions, and report the reconnect done.
    async fn take_over(&self, new: Arc<Session>, publications: Vec<Republish>) {
        new.release_events(announcements(&new.signal.join_response()));
        self.rejoining.send_replace(false);
        let (generation, permissions) = self.permissions.lock().clone();
        if let Some((all, permissions)) = &permissions {
            new.set_track_permissions(*all, permissions.clone());
        }
        let sids = republish(&new, publications).await;
        if let Some((all, permissions)) = permissions
            && permissions.iter().any(|p| !p.track_sids.is_empty())
        {
            // Track-level grants named the old SIDs; the host may have
            // replaced them meanwhile.
            let permissions = renamed(permissions, &sids);
            let mut saved = self.permissions.lock();
            if saved.0 == generation {
                saved.1 = Some((all, permissions.clone()));
                drop(saved);
                new.set_track_permissions(all, permissions);
            }
        }
        new.emit([
            RoomEvent::ConnectionStateChanged(ConnectionState::Connected),
            RoomEvent::Reconnected,
        ]);
    }
}

/// What a new join tells the host about the room: everyone in it, with
/// their tracks, and our own new description.
fn announcements(join: &proto::JoinResponse) -> Vec<RoomEvent> {
    // Everyone is new to a model that knows only us.
    let mut empty = RoomState::default();
    empty.local = join.participant.clone().unwrap_or_default();
    let mut events = empty.apply_participant_update(&join.other_participants);
    events.retain(|e| !matches!(e, RoomEvent::ParticipantsUpdated(_)));
    if let Some(local) = &join.participant {
        events.push(RoomEvent::ParticipantsUpdated(vec![local.clone()]));
    }
    events
}

/// Publish the old session's tracks on the new one. The publications get
/// new SIDs; `LocalTrackRepublished` maps each old one to its new one, and
/// so does the map returned.
async fn republish(
    session: &Arc<Session>,
    publications: Vec<Republish>,
) -> HashMap<String, String> {
    let mut sids = HashMap::new();
    for (old, track, options) in publications {
        match session.publish_audio(track, options).await {
            Ok(track) => {
                sids.insert(old.sid.clone(), track.sid.clone());
                session.emit([RoomEvent::LocalTrackRepublished {
                    previous_sid: old.sid,
                    track,
                }]);
            }
            Err(err) => log::warn!("track {} not published again: {err}", old.sid),
        }
    }
    sids
}

/// Permissions with the track SIDs a republish replaced renamed.
fn renamed(
    mut permissions: Vec<TrackPermission>,
    sids: &HashMap<String, String>,
) -> Vec<TrackPermission> {
    for permission in &mut permissions {
        for sid in &mut permission.track_sids {
            if let Some(new) = sids.get(sid) {
                sid.clone_from(new);
            }
        }
    }
    permissions
}

impl Session {
    /// Ask the room for a full reconnect. A session no room serves yet
    /// fails its join instead if it is still joining (quietly: the join is
    /// retried), and closes otherwise.
    pub(super) async fn request_rejoin(self: &Arc<Self>, reason: i32) {
        let Some(rooms) = self.rejoin.get() else {
            if self.is_joining() {
                log::warn!("the server dropped this session while it joined");
                self.retire().await;
            } else {
                log::warn!("the server lost this session; closing");
                self.close(reason, false).await;
            }
            return;
        };
        let request = RejoinRequest {
            from: Arc::downgrade(self),
            reason,
        };
        if rooms.send(request).is_ok() {
            log::warn!("the server lost this session; joining the room again");
        } else {
            self.close(reason, false).await;
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
    fn track_grants_follow_the_republished_sids() {
        let sids = HashMap::from([("TR_old".to_owned(), "TR_new".to_owned())]);
        let permissions = vec![TrackPermission {
            identity: "bob".into(),
            all_tracks: false,
            track_sids: vec!["TR_old".into(), "TR_gone".into()],
        }];
        let renamed = renamed(permissions, &sids);
        assert_eq!(renamed[0].track_sids, ["TR_new", "TR_gone"]);
        assert_eq!(renamed[0].identity, "bob");
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
