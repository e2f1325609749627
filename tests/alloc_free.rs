//! Lookups allocate nothing: a counting global allocator for this test binary, counting
//! per thread so tests running in parallel do not disturb each other.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::IpAddr;

use ipfence_core::matcher::Matcher;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn lookups_allocate_nothing() {
    let bytes = std::fs::read(crate::util::data(crate::util::AWS_NEW)).unwrap();
    let ranges = ipfence_core::source::aws::parse(&bytes, "aws", Default::default()).unwrap();
    let blob = Matcher::build(&ranges).unwrap().to_bytes();
    let ips: Vec<IpAddr> = (0u32..20_000)
        .map(|i| {
            let x = i.wrapping_mul(2_654_435_761);
            if i % 2 == 0 {
                IpAddr::V4(x.into())
            } else {
                IpAddr::V6((0x2600_1f00_u128 << 96 | u128::from(x) << 40).into())
            }
        })
        .collect();
    // Validation uses scratch space while loading; lookups after it use none.
    let (m, _) = Matcher::from_bytes(&blob).unwrap();
    let before = allocations();
    let mut found = 0usize;
    for ip in &ips {
        if let Some(hit) = m.lookup(*ip) {
            found += hit.entries().count();
            found += usize::from(hit.prefix().contains(ip));
        }
        found += usize::from(m.contains(*ip));
        found += m.matches(*ip).count();
    }
    assert_eq!(
        allocations(),
        before,
        "lookup, contains, matches and entries allocate nothing"
    );
    assert!(found > 1000, "the probes hit the data: {found}");
}
