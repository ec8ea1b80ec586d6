//! State only some connections use (permessage-deflate's buffers, fragment offsets,
//! input held behind an inflate job), boxed on first use: an idle connection holds
//! one pointer for it instead of the headers of several empty buffers.

#[derive(Debug, Default)]
pub(crate) struct Cold<T>(Option<Box<T>>);

impl<T: Default> Cold<T> {
    /// The state, if it was ever made.
    pub(crate) fn get(&self) -> Option<&T> {
        self.0.as_deref()
    }

    /// The state, made now if it was not.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }

    /// The state, if it was ever made.
    pub(crate) fn existing_mut(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut()
    }

    /// Frees the state if `unused` says it holds nothing worth keeping.
    pub(crate) fn free_if(&mut self, unused: impl FnOnce(&T) -> bool) {
        if self.0.as_deref().is_some_and(unused) {
            self.0 = None;
        }
    }

    /// Heap bytes of the box itself (its buffers are the caller's to count).
    pub(crate) fn box_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |_| std::mem::size_of::<T>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_on_first_use_and_freed_when_unused() {
        let mut c: Cold<Vec<u8>> = Cold::default();
        assert!(c.get().is_none() && c.existing_mut().is_none());
        assert_eq!(c.box_bytes(), 0);
        c.get_mut().push(1);
        assert_eq!(c.get(), Some(&vec![1]));
        assert_eq!(c.box_bytes(), std::mem::size_of::<Vec<u8>>());
        c.free_if(|v| v.is_empty());
        assert!(c.get().is_some(), "still used");
        c.get_mut().clear();
        c.free_if(|v| v.is_empty());
        assert!(c.get().is_none());
    }
}
