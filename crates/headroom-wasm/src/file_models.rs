//! The models read from files (`read_gguf`), held in the wasm instance: a request names one by the
//! number `read_gguf` gave it (`{ gguf: N }`) instead of carrying its shapes and tensors back
//! through JavaScript, so they are never rebuilt from what a page passes.

use crate::error::WebError;
use crate::request::ModelFile;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// How many read files are held; reading one more lets go of the oldest.
pub const MAX_HELD: usize = 8;

thread_local! {
    static HELD: RefCell<VecDeque<(u32, Rc<ModelFile>)>> = const { RefCell::new(VecDeque::new()) };
    static NEXT: Cell<u32> = const { Cell::new(1) };
}

/// Holds a model read from a file; returns the number a request names it by.
pub fn hold(file: ModelFile) -> u32 {
    let id = NEXT.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1).max(1));
        id
    });
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        if h.len() == MAX_HELD {
            h.pop_front();
        }
        h.push_back((id, Rc::new(file)));
    });
    id
}

/// The model held as `id`.
pub fn get(id: u32) -> Result<Rc<ModelFile>, WebError> {
    HELD.with(|h| h.borrow().iter().find(|(i, _)| *i == id).map(|(_, f)| f.clone()))
        .ok_or_else(|| {
            WebError::new(format!(
                "model: no file {id} is held (the last {MAX_HELD} files read are, in this instance of the calculator): read the file again"
            ))
        })
}
