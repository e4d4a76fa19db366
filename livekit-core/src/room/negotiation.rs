//! Publisher negotiation: we offer, the server answers.
//!
//! With a LiveKit server the subscriber PC is primary, so the publisher is
//! only negotiated when something needs it: the first data packet, the
//! first track, or eagerly in the background after joining so that the
//! first packet does not pay for ICE and DTLS.

use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use proto::signal_request::Message as Request;
use tokio::sync::oneshot;

use super::error::RoomError;
use super::session::Session;
use crate::transport::Target;

/// How long the server gets to answer an offer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

impl Session {
    /// Run one offer/answer round on the publisher. Without `force`, a
    /// publisher that was negotiated before is left alone.
    pub(crate) async fn negotiate_publisher(
        self: &Arc<Self>,
        force: bool,
    ) -> Result<(), RoomError> {
        let mut negotiated = self.negotiation.lock().await;
        if *negotiated && !force {
            return Ok(());
        }
        self.offer_round(false).await?;
        *negotiated = true;
        Ok(())
    }

    /// Restart ICE on the publisher, as a resume does, if it was ever
    /// negotiated; returns whether it was. One that never was has nothing
    /// to restart, and its first negotiation gathers afresh anyway.
    pub(crate) async fn restart_publisher_ice(self: &Arc<Self>) -> Result<bool, RoomError> {
        let negotiated = self.negotiation.lock().await;
        if !*negotiated {
            return Ok(false);
        }
        self.offer_round(true).await?;
        Ok(true)
    }

    /// Offer, wait for the answer and apply it. The caller holds the
    /// negotiation lock, so one round runs at a time.
    async fn offer_round(self: &Arc<Self>, ice_restart: bool) -> Result<(), RoomError> {
        if self.is_closed() {
            return Err(RoomError::Closed);
        }
        let sdp = self.publisher.create_offer(ice_restart).await?;
        let (tx, rx) = oneshot::channel();
        *self.answer_waiter.lock() = Some(tx);
        self.send_signal(Request::Offer(proto::SessionDescription {
            r#type: "offer".into(),
            sdp,
            id: self.next_offer_id(),
            ..Default::default()
        }))
        .await;
        self.release_candidates().await;
        let answer = match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => return Err(RoomError::Closed),
            Err(_) => {
                self.answer_waiter.lock().take();
                return Err(RoomError::Timeout(
                    "the server did not answer our offer".into(),
                ));
            }
        };
        self.publisher.set_remote_answer(&answer).await?;
        Ok(())
    }

    /// Make sure the publisher is negotiated and connected.
    pub(crate) async fn ensure_publisher(self: &Arc<Self>) -> Result<(), RoomError> {
        self.negotiate_publisher(false).await?;
        self.wait_connected(Target::Publisher).await
    }
}
