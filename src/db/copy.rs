//! Bulk writes with `COPY ... FROM STDIN (FORMAT binary)`: a dataset's rows, a run's
//! assignments, a scoring's placed rows.
//!
//! A million rows through `INSERT ... SELECT unnest(...)` batches cost the server a planned
//! statement per batch and the client every batch's arrays at once; `COPY` streams the rows as
//! one message per chunk, and the binary format needs no escaping. diesel-async has no `COPY`,
//! so these writes open their own tokio-postgres connection ([`begin`]: the driver the pool
//! already uses underneath) and run their whole transaction on it. The rows are encoded by an
//! [`Encoder`] in chunks of about [`CHUNK_BYTES`], which the caller produces while earlier
//! chunks are on their way, so memory holds a few chunks, not the table twice.

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use tokio_postgres::{Client, NoTls};

/// Size at which a chunk of encoded rows is handed to the connection.
pub const CHUNK_BYTES: usize = 1 << 20;

/// A connection of its own for a bulk write, outside the pool (whose connections are diesel's),
/// with a transaction open. Dropping the client before [`commit`] (an error on the way) closes
/// the connection, and the server rolls the transaction back.
pub async fn begin(database_url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(database_url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "bulk-write connection ended with an error");
        }
    });
    client.batch_execute("BEGIN").await?;
    Ok(client)
}

/// Commits the transaction [`begin`] opened, and closes its connection.
pub async fn commit(client: Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute("COMMIT").await
}

/// Runs `statement`, a `COPY ... FROM STDIN (FORMAT binary)`, fed with `chunks` (from
/// [`chunks`]), and returns the rows written. Runs inside the caller's transaction.
pub async fn copy_in(
    client: &Client,
    statement: &str,
    chunks: impl futures::Stream<Item = Bytes>,
) -> Result<u64, tokio_postgres::Error> {
    let sink = client.copy_in::<_, Bytes>(statement).await?;
    futures::pin_mut!(sink, chunks);
    while let Some(chunk) = chunks.next().await {
        sink.send(chunk).await?;
    }
    sink.finish().await
}

/// [`copy_in`] with chunks that take real work to encode (a million JSON rows): `produce`
/// runs on a blocking thread and hands chunks over through a short queue, so encoding and
/// sending overlap and only a few chunks are in memory at once.
pub async fn copy_in_encoded_apart(
    client: &Client,
    statement: &str,
    produce: impl FnOnce(Feed) + Send + 'static,
) -> Result<u64, tokio_postgres::Error> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let producer = tokio::task::spawn_blocking(move || produce(Feed(tx)));
    let copied = copy_in(
        client,
        statement,
        tokio_stream::wrappers::ReceiverStream::new(rx),
    )
    .await;
    if let Err(panic) = producer.await {
        std::panic::resume_unwind(panic.into_panic());
    }
    copied
}

/// Where a producer on a blocking thread sends its chunks.
pub struct Feed(tokio::sync::mpsc::Sender<Bytes>);

impl Feed {
    /// Sends every chunk; stops early, quietly, when the copy has failed (its error is the one
    /// to report).
    pub fn send_all(self, chunks: impl Iterator<Item = Bytes>) {
        for chunk in chunks {
            if self.0.blocking_send(chunk).is_err() {
                return;
            }
        }
    }
}

/// `rows` encoded, `fields` fields each, by `encode`, in chunks of about [`CHUNK_BYTES`]: the
/// first starts with the format's header, the last ends with its trailer.
pub fn chunks<T>(
    rows: impl IntoIterator<Item = T>,
    fields: i16,
    mut encode: impl FnMut(&mut Encoder, T),
) -> impl Iterator<Item = Bytes> {
    let mut rows = rows.into_iter();
    let mut encoder = Some(Encoder::new());
    std::iter::from_fn(move || {
        let e = encoder.as_mut()?;
        for row in rows.by_ref() {
            e.row(fields);
            encode(e, row);
            if e.len() >= CHUNK_BYTES {
                return Some(e.take());
            }
        }
        encoder.take().map(Encoder::finish)
    })
}

/// Writes PostgreSQL's binary `COPY` format: a header, then per row its field count and each
/// field as a length and the type's binary form, then a trailer.
pub struct Encoder {
    buf: BytesMut,
    /// Reused for each JSON field's text, whose length is needed before it.
    scratch: Vec<u8>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    pub fn new() -> Encoder {
        let mut buf = BytesMut::with_capacity(CHUNK_BYTES + 64 * 1024);
        buf.put_slice(b"PGCOPY\n\xff\r\n\0");
        buf.put_i32(0); // flags: no OIDs
        buf.put_i32(0); // no header extension
        Encoder {
            buf,
            scratch: Vec::new(),
        }
    }

    /// Bytes encoded since the last [`Encoder::take`].
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes encoded so far, leaving the encoder empty for the next rows.
    pub fn take(&mut self) -> Bytes {
        self.buf.split().freeze()
    }

    /// The last bytes, with the trailer.
    pub fn finish(mut self) -> Bytes {
        self.buf.put_i16(-1);
        self.buf.freeze()
    }

    /// Starts a row of `fields` fields; exactly that many field calls must follow.
    pub fn row(&mut self, fields: i16) {
        self.buf.put_i16(fields);
    }

    pub fn int8(&mut self, v: i64) {
        self.buf.put_i32(8);
        self.buf.put_i64(v);
    }

    pub fn int4(&mut self, v: i32) {
        self.buf.put_i32(4);
        self.buf.put_i32(v);
    }

    pub fn float8(&mut self, v: Option<f64>) {
        match v {
            Some(v) => {
                self.buf.put_i32(8);
                self.buf.put_f64(v);
            }
            None => self.null(),
        }
    }

    pub fn null(&mut self) {
        self.buf.put_i32(-1);
    }

    /// A `jsonb` field whose JSON text `write` appends (jsonb's binary form is a version byte,
    /// 1, then the text).
    pub fn jsonb(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        write(&mut text);
        self.jsonb_text(&text);
        self.scratch = text;
    }

    /// A `jsonb` field of JSON text already written.
    pub fn jsonb_text(&mut self, json: &[u8]) {
        self.buf.put_i32(json.len() as i32 + 1);
        self.buf.put_u8(1);
        self.buf.put_slice(json);
    }

    /// A one-dimensional `text[]` without nulls.
    pub fn text_array(&mut self, items: &[String]) {
        const TEXT_OID: u32 = 25;
        let body: usize = 20 + items.iter().map(|s| 4 + s.len()).sum::<usize>();
        self.buf.put_i32(body as i32);
        self.buf.put_i32(1); // dimensions
        self.buf.put_i32(0); // no nulls
        self.buf.put_u32(TEXT_OID);
        self.buf.put_i32(items.len() as i32);
        self.buf.put_i32(1); // lower bound
        for s in items {
            self.buf.put_i32(s.len() as i32);
            self.buf.put_slice(s.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_its_field_count_then_length_prefixed_fields() {
        let mut e = Encoder::new();
        let header = e.take();
        assert_eq!(&header[..11], b"PGCOPY\n\xff\r\n\0");
        assert_eq!(header.len(), 19);
        e.row(3);
        e.int4(7);
        e.float8(None);
        e.jsonb_text(b"{}");
        let row = e.take();
        assert_eq!(
            &row[..],
            &[
                0, 3, 0, 0, 0, 4, 0, 0, 0, 7, 255, 255, 255, 255, 0, 0, 0, 3, 1, b'{', b'}'
            ][..]
        );
        assert_eq!(&e.finish()[..], &[255, 255][..]);
    }

    #[test]
    fn chunks_carry_the_header_the_rows_and_the_trailer_once() {
        let rows = 200_000;
        let parts: Vec<Bytes> = chunks(0..rows, 1, |e, i| e.int4(i)).collect();
        assert!(parts.len() > 1, "{} chunks", parts.len());
        assert!(
            parts[..parts.len() - 1]
                .iter()
                .all(|c| c.len() >= CHUNK_BYTES)
        );
        let all: Vec<u8> = parts.concat();
        assert_eq!(all.len(), 19 + rows as usize * 10 + 2);
        assert_eq!(&all[all.len() - 2..], &[255, 255][..]);
        let empty: Vec<Bytes> = chunks(std::iter::empty::<i32>(), 1, |e, i| e.int4(i)).collect();
        assert_eq!(empty.concat().len(), 21);
    }

    #[test]
    fn a_text_array_states_its_byte_length() {
        let mut e = Encoder::new();
        e.take();
        e.text_array(&["ab".to_string(), String::new()]);
        let bytes = e.take();
        let declared = i32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert_eq!(declared, bytes.len() - 4);
    }
}
