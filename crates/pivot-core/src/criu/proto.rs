//! The few CRIU RPC messages pivot speaks (criu's rpc.proto, proto2), in
//! protobuf's wire format: varints and length-delimited fields are all
//! these messages use.

use crate::error::{Error, Result};

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

/// An encoder for one message.
#[derive(Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u64) {
        self.varint(((field as u64) << 3) | wire);
    }

    pub fn uint(&mut self, field: u32, v: u64) -> &mut Self {
        self.key(field, VARINT);
        self.varint(v);
        self
    }

    /// int32: a negative value is sign-extended to ten bytes.
    pub fn int32(&mut self, field: u32, v: i32) -> &mut Self {
        self.uint(field, v as i64 as u64)
    }

    /// proto2 optional bool: absent means false, so only true is written.
    pub fn flag(&mut self, field: u32, v: bool) -> &mut Self {
        if v {
            self.uint(field, 1);
        }
        self
    }

    pub fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Self {
        self.key(field, LEN);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    pub fn string(&mut self, field: u32, v: &str) -> &mut Self {
        self.bytes(field, v.as_bytes())
    }

    pub fn message(&mut self, field: u32, m: &Writer) -> &mut Self {
        self.bytes(field, &m.0)
    }

    pub fn finish(&self) -> &[u8] {
        &self.0
    }
}

/// One decoded field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// A decoded message: its fields in wire order.
#[derive(Debug)]
pub struct Message<'a>(Vec<(u32, Value<'a>)>);

fn bad(what: &str) -> Error {
    Error::other(format!("criu: malformed RPC message ({what})"))
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or_else(|| bad("truncated varint"))?;
        *pos += 1;
        v |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(bad("varint longer than ten bytes"))
}

impl<'a> Message<'a> {
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>> {
        let mut pos = 0;
        let mut fields = Vec::new();
        while pos < buf.len() {
            let key = read_varint(buf, &mut pos)?;
            let field = (key >> 3) as u32;
            let value = match key & 7 {
                VARINT => Value::Varint(read_varint(buf, &mut pos)?),
                LEN => {
                    let len = read_varint(buf, &mut pos)? as usize;
                    let end = pos
                        .checked_add(len)
                        .filter(|&e| e <= buf.len())
                        .ok_or_else(|| bad("field runs past the end"))?;
                    let v = Value::Bytes(&buf[pos..end]);
                    pos = end;
                    v
                }
                FIXED64 | FIXED32 => {
                    pos += if key & 7 == FIXED64 { 8 } else { 4 };
                    if pos > buf.len() {
                        return Err(bad("fixed field runs past the end"));
                    }
                    Value::Fixed
                }
                _ => return Err(bad("unknown wire type")),
            };
            fields.push((field, value));
        }
        Ok(Message(fields))
    }

    /// The last occurrence of a field wins, as protobuf says.
    fn last(&self, field: u32) -> Option<Value<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| *v)
    }

    pub fn uint(&self, field: u32) -> Option<u64> {
        match self.last(field)? {
            Value::Varint(v) => Some(v),
            _ => None,
        }
    }

    pub fn int32(&self, field: u32) -> Option<i32> {
        self.uint(field).map(|v| v as i64 as i32)
    }

    pub fn flag(&self, field: u32) -> bool {
        self.uint(field).is_some_and(|v| v != 0)
    }

    pub fn string(&self, field: u32) -> Option<String> {
        match self.last(field)? {
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    pub fn message(&self, field: u32) -> Result<Option<Message<'a>>> {
        match self.last(field) {
            Some(Value::Bytes(b)) => Message::parse(b).map(Some),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut w = Writer::default();
            w.uint(5, v);
            let m = Message::parse(w.finish()).unwrap();
            assert_eq!(m.uint(5), Some(v));
        }
    }

    #[test]
    fn known_encodings() {
        // protobuf's documented examples: field 1 = 150, field 2 = "testing".
        let mut w = Writer::default();
        w.uint(1, 150).string(2, "testing");
        assert_eq!(
            w.finish(),
            &[0x08, 0x96, 0x01, 0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']
        );
    }

    #[test]
    fn negative_int32_takes_ten_bytes() {
        let mut w = Writer::default();
        w.int32(7, -2);
        assert_eq!(w.finish().len(), 11);
        assert_eq!(Message::parse(w.finish()).unwrap().int32(7), Some(-2));
    }

    #[test]
    fn nested_messages_and_flags() {
        let mut inner = Writer::default();
        inner.int32(1, 4242);
        let mut w = Writer::default();
        w.uint(1, 2).flag(2, true).flag(3, false).message(4, &inner);
        let m = Message::parse(w.finish()).unwrap();
        assert!(m.flag(2));
        assert!(!m.flag(3));
        assert_eq!(m.message(4).unwrap().unwrap().int32(1), Some(4242));
        assert!(m.message(9).unwrap().is_none());
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(Message::parse(&[0x12, 0x05, b'a']).is_err());
        assert!(Message::parse(&[0x08, 0x80]).is_err());
        assert!(Message::parse(&[0x0f]).is_err());
    }
}
