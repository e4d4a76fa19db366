//! The session's side of data tracks: what runs at join, and the signal
//! messages and channel the session hands over.
//!
//! The session calls in from `connect.rs` and `session.rs`, one line
//! each: [`Session::start_data_tracks`] once while joining,
//! [`Session::on_data_track_signal`] for the data-track signal messages
//! and refusals, [`Session::spawn_data_track_reader`] for the server's
//! `_data_track` channel, `DataTracks::apply_update` for participant
//! updates and `DataTracks::close` when the session closes.

use std::sync::{Arc, Weak};

use livekit_protocol as proto;
use proto::request_response::{Reason, Request as Refused};
use proto::signal_response::Message as Response;
use tokio::sync::Notify;

use super::{DATA_TRACK_LABEL, DataTracks, PublishDataTrackError, Shared, sender};
use crate::room::error::RoomError;
use crate::room::events::DataKind;
use crate::room::session::{PC_CONNECT_TIMEOUT, Session};
use crate::transport::{DataChannel, DataChannelEvent, DataChannelOptions};

/// Whether a `RequestResponse` is about a data-track request, which
/// [`Session::on_data_track_signal`] handles.
pub(crate) fn is_data_track_response(response: &proto::RequestResponse) -> bool {
    matches!(
        response.request,
        Some(Refused::PublishDataTrack(_) | Refused::UnpublishDataTrack(_))
    )
}

impl DataTracks {
    /// Start the outbox and, with our channel, the sender.
    fn start(&self, session: Weak<Session>, channel: Option<DataChannel>) {
        if let Some(mut requests) = self.shared.outbox_rx.lock().take() {
            let session = session.clone();
            tokio::spawn(async move {
                while let Some(request) = requests.recv().await {
                    let Some(session) = session.upgrade() else {
                        return;
                    };
                    session.send_signal(request).await;
                }
            });
        }
        let Some(channel) = channel else {
            return;
        };
        let changed = Arc::new(Notify::new());
        if let Some(events) = channel.take_events() {
            let shared = Arc::downgrade(&self.shared);
            tokio::spawn(sender::watch_channel(
                events,
                changed.clone(),
                move |bytes| {
                    if let Some(shared) = shared.upgrade() {
                        shared.on_packet(bytes);
                    }
                },
            ));
        }
        tokio::spawn(sender::run(
            self.shared.queue.clone(),
            channel,
            changed,
            session,
        ));
    }
}

impl Session {
    /// Set data tracks up while joining: start the queues and announce the
    /// data tracks of those already in the room (the events wait for the
    /// join to complete, like the others). Our own channel waits for the
    /// first publication ([`Session::open_data_track_channel`]).
    pub(crate) fn start_data_tracks(self: &Arc<Self>, join: &proto::JoinResponse) {
        self.data_tracks.start(Arc::downgrade(self), None);
        let local = join.participant.clone().unwrap_or_default();
        self.emit(
            self.data_tracks
                .apply_update(&join.other_participants, &local),
        );
    }

    /// Create our `_data_track` channel and start sending on it; on
    /// failure the next publication tries again.
    ///
    /// The channel is created only once the publisher's SCTP association
    /// is up (its reliable channel is open). The webrtc crate dials a new
    /// channel at once when an association exists, even one still in its
    /// handshake; the DCEP open it writes then is refused by SCTP and lost,
    /// and the channel never opens. A publication made right after joining
    /// landed in that window now and then (on a loaded machine, all of a
    /// test's frames went nowhere). On an established association the
    /// in-band open is all the server needs, so no renegotiation follows.
    pub(crate) async fn open_data_track_channel(self: &Arc<Self>) -> Result<(), RoomError> {
        self.ensure_publisher().await?;
        let reliable = self.channel(DataKind::Reliable).clone();
        self.wait_until(
            PC_CONNECT_TIMEOUT,
            || reliable.is_open(),
            "the publisher's data channels to open",
        )
        .await?;
        let options = DataChannelOptions {
            ordered: false,
            max_retransmits: Some(0),
        };
        let channel = self
            .publisher
            .create_data_channel(DATA_TRACK_LABEL, options)
            .await?;
        channel.set_buffered_amount_low_threshold(sender::LOW_THRESHOLD);
        self.data_tracks.start(Arc::downgrade(self), Some(channel));
        Ok(())
    }

    /// A data-track signal message: a publish or unpublish answer, the
    /// subscriber handles, or a refusal ([`is_data_track_response`]).
    pub(crate) fn on_data_track_signal(&self, message: Response) {
        let shared = &self.data_tracks.shared;
        match message {
            Response::PublishDataTrackResponse(response) => match response.info {
                Some(info) => shared.on_published(&info),
                None => log::warn!("data track publish response without info"),
            },
            Response::UnpublishDataTrackResponse(response) => {
                if let Some(info) = response.info {
                    shared.on_unpublished(&info);
                }
            }
            Response::DataTrackSubscriberHandles(handles) => shared.on_subscriber_handles(&handles),
            Response::RequestResponse(response) => on_refusal(shared, &response),
            other => log::debug!("not a data track message: {other:?}"),
        }
    }

    /// Read the server's `_data_track` channel (on the subscriber PC).
    pub(crate) fn spawn_data_track_reader(&self, channel: DataChannel) {
        let Some(mut events) = channel.take_events() else {
            return;
        };
        let shared = Arc::downgrade(&self.data_tracks.shared);
        tokio::spawn(async move {
            // Keep the channel open while we read it.
            let _channel = channel;
            while let Some(event) = events.recv().await {
                if let DataChannelEvent::Message(bytes) = event {
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    shared.on_packet(&bytes);
                }
            }
        });
    }
}

/// A `RequestResponse` about a data-track request.
fn on_refusal(shared: &Arc<Shared>, response: &proto::RequestResponse) {
    let reason = Reason::try_from(response.reason).unwrap_or(Reason::UnclassifiedError);
    match &response.request {
        Some(Refused::PublishDataTrack(request)) if reason != Reason::Ok => {
            let Ok(handle) = u16::try_from(request.pub_handle) else {
                return;
            };
            let error = match reason {
                Reason::NotAllowed => PublishDataTrackError::NotAllowed,
                Reason::DuplicateName => PublishDataTrackError::DuplicateName,
                Reason::InvalidName => PublishDataTrackError::InvalidName,
                Reason::LimitExceeded => PublishDataTrackError::LimitReached,
                _ => PublishDataTrackError::Refused(format!(
                    "{} ({})",
                    response.message,
                    reason.as_str_name()
                )),
            };
            shared.on_publish_refused(handle, error);
        }
        Some(Refused::UnpublishDataTrack(request)) if reason != Reason::Ok => {
            log::debug!(
                "the server refused to unpublish data track handle {}: {}",
                request.pub_handle,
                response.message
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_track_refusals_are_recognised() {
        let mut response = proto::RequestResponse {
            request_id: 0,
            reason: Reason::DuplicateName as i32,
            message: "taken".into(),
            request: Some(Refused::PublishDataTrack(proto::PublishDataTrackRequest {
                pub_handle: 1,
                ..Default::default()
            })),
        };
        assert!(is_data_track_response(&response));
        response.request = None;
        assert!(!is_data_track_response(&response));
    }

    #[tokio::test]
    async fn refusal_completes_the_pending_publish() {
        let shared = Arc::new(Shared::default());
        let (tx, rx) = tokio::sync::oneshot::channel();
        shared.state.lock().pending.insert(3, tx);
        let response = proto::RequestResponse {
            request_id: 0,
            reason: Reason::DuplicateName as i32,
            message: "taken".into(),
            request: Some(Refused::PublishDataTrack(proto::PublishDataTrackRequest {
                pub_handle: 3,
                ..Default::default()
            })),
        };
        on_refusal(&shared, &response);
        assert_eq!(
            rx.await.unwrap().unwrap_err(),
            PublishDataTrackError::DuplicateName
        );
    }
}
