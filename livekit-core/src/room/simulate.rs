//! Simulated failures, for testing how a room recovers
//! (`SimulateScenarioRequest`).
//!
//! Most scenarios ask the server to misbehave through the signal
//! `SimulateScenario` message (a server in dev mode honours it). Two are
//! simulated here, as the official library does: losing the signal
//! connection, by closing our socket as the network would (which starts a
//! resume), and a full reconnect, by starting one.

use std::sync::Arc;

use livekit_protocol as proto;
use proto::signal_request::Message as Request;
use proto::simulate_scenario::Scenario;

use super::error::RoomError;
use super::session::Session;

/// The scenarios of the FFI's `SimulateScenarioKind`, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulateScenario {
    /// Drop the signal connection: the room resumes.
    SignalReconnect,
    /// The server reports us speaking for a few seconds.
    Speaker,
    /// The server drops us as if its node failed (a resume then finds no
    /// session, which needs a full reconnect).
    NodeFailure,
    /// The server sends `Leave` and closes our session.
    ServerLeave,
    /// The server drops us as if migrating us to another node.
    Migration,
    /// The server restarts ICE preferring TCP candidates.
    ForceTcp,
    /// The server restarts ICE preferring TLS (TURN) candidates.
    ForceTls,
    /// Join the room again, as when the server asks for it.
    FullReconnect,
    /// The server drops the signal connection during our next resume.
    DisconnectSignalOnResume,
}

/// How long the simulated speaker update lasts, in seconds, as the official
/// library asks.
const SPEAKER_SECONDS: i32 = 3;

impl SimulateScenario {
    /// The signal message that asks the server for this scenario; `None`
    /// for those simulated on our side.
    fn server_scenario(self) -> Option<Scenario> {
        Some(match self {
            SimulateScenario::SignalReconnect | SimulateScenario::FullReconnect => return None,
            SimulateScenario::Speaker => Scenario::SpeakerUpdate(SPEAKER_SECONDS),
            SimulateScenario::NodeFailure => Scenario::NodeFailure(true),
            SimulateScenario::ServerLeave => Scenario::ServerLeave(true),
            SimulateScenario::Migration => Scenario::Migration(true),
            SimulateScenario::ForceTcp => {
                Scenario::SwitchCandidateProtocol(proto::CandidateProtocol::Tcp as i32)
            }
            SimulateScenario::ForceTls => {
                Scenario::SwitchCandidateProtocol(proto::CandidateProtocol::Tls as i32)
            }
            SimulateScenario::DisconnectSignalOnResume => Scenario::DisconnectSignalOnResume(true),
        })
    }
}

impl Session {
    /// Run one scenario. Completes once it is set off; the recovery it
    /// causes shows on the event stream.
    pub(super) async fn simulate_scenario(
        self: &Arc<Self>,
        scenario: SimulateScenario,
    ) -> Result<(), RoomError> {
        if self.is_closed() {
            return Err(RoomError::Closed);
        }
        match scenario.server_scenario() {
            // Closing the socket makes the signal client report it closed,
            // which is what a lost connection looks like to the session.
            None if scenario == SimulateScenario::SignalReconnect => self.signal.close().await,
            None => {
                let reason = proto::DisconnectReason::UnknownReason as i32;
                self.request_rejoin(reason).await;
            }
            Some(scenario) => {
                self.send_signal(Request::Simulate(proto::SimulateScenario {
                    scenario: Some(scenario),
                }))
                .await
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_loss_and_full_reconnect_are_simulated_locally() {
        assert_eq!(SimulateScenario::SignalReconnect.server_scenario(), None);
        assert_eq!(SimulateScenario::FullReconnect.server_scenario(), None);
        assert_eq!(
            SimulateScenario::ForceTcp.server_scenario(),
            Some(Scenario::SwitchCandidateProtocol(
                proto::CandidateProtocol::Tcp as i32
            ))
        );
        assert_eq!(
            SimulateScenario::DisconnectSignalOnResume.server_scenario(),
            Some(Scenario::DisconnectSignalOnResume(true))
        );
    }
}
