//! The first of two futures to finish, the other dropped: what `tokio::select!` did here.
//!
//! Not the macro, because tokio's `macros` feature builds a proc macro on syn's `full`
//! features, and syn is a build dependency of the plugin's serde too: in a
//! `cargo build --workspace`, cargo would unify the two, rebuild serde with another hash, and
//! give the plugin a different binary than when it is built alone. A dozen lines keep the
//! plugin's build the same whatever is built beside it.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

/// Which future finished first, with its output.
pub enum First<A, B> {
    /// The first argument's.
    Left(A),
    /// The second argument's.
    Right(B),
}

/// Polls `left`, then `right`, until one is ready. `left` wins a tie, so a stop signal passed
/// there is seen before new work.
pub async fn first<L: Future, R: Future>(left: L, right: R) -> First<L::Output, R::Output> {
    let (mut left, mut right) = (pin!(left), pin!(right));
    poll_fn(|cx| {
        if let Poll::Ready(out) = left.as_mut().poll(cx) {
            return Poll::Ready(First::Left(out));
        }
        if let Poll::Ready(out) = right.as_mut().poll(cx) {
            return Poll::Ready(First::Right(out));
        }
        Poll::Pending
    })
    .await
}
