//! Money: dues (what members owe per month) and payments (money received from members). Unit
//! users see their subtree's; treasurers the whole organisation's.

pub mod dues;
pub mod model;
pub mod payments;
pub mod repo;
#[cfg(test)]
mod tests;

pub use dues::DuesService;
pub use model::{
    Dues, DuesFilter, DuesGenerated, DuesInput, DuesStatus, DuesUpdate, GenerateDues,
    GenerateInput, NewDues, NewPayment, Payment, PaymentFilter, PaymentInput, PaymentMethod,
    PaymentPurpose, DEFAULT_CURRENCY,
};
pub use payments::PaymentService;
pub use repo::MoneyRepo;
