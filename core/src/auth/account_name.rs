//! The name a new account gets at sign-up: the organisation's, read from the email's domain, so the Owner seldom
//! has to rename it.

use super::{EmailAddress, personal_account_name};

/// Mail providers anyone can sign up at: their domain names no organisation.
const PUBLIC_MAIL_PROVIDERS: &[&str] = &[
    "aol.com",
    "fastmail.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hey.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "pm.me",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "web.de",
    "yahoo.com",
    "yandex.ru",
    "zoho.com",
];

/// `owner@acme-corp.com` → "Acme Corp" (the label before the public suffix, in words); an address at a public
/// mail provider, or one whose domain has no such label, keeps the personal name ("…'s account").
pub(crate) fn new_account_name(email: &EmailAddress) -> String {
    let ascii = email.domain();
    let Some(registrable) = psl::domain_str(ascii).filter(|d| !PUBLIC_MAIL_PROVIDERS.contains(d)) else {
        return personal_account_name(email.display());
    };
    // The label as the person typed it (an internationalised name reads better than its xn-- form); both forms
    // have the same labels in the same places.
    let position = ascii.split('.').count() - registrable.split('.').count();
    let typed = email.display().rsplit_once('@').map_or("", |(_, d)| d);
    let label = typed
        .split('.')
        .nth(position)
        .filter(|_| typed.split('.').count() == ascii.split('.').count())
        .unwrap_or_else(|| registrable.split('.').next().unwrap_or_default());
    let words: Vec<String> = label
        .split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect())
                .unwrap_or_default()
        })
        .collect();
    if words.is_empty() {
        return personal_account_name(email.display());
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(address: &str) -> String {
        new_account_name(&EmailAddress::parse(address).unwrap())
    }

    #[test]
    fn the_organisation_is_read_from_the_domain() {
        assert_eq!(name("owner@acme-corp.com"), "Acme Corp");
        assert_eq!(name("owner@Example.ORG"), "Example");
        assert_eq!(name("it@mail.northwind.co.uk"), "Northwind");
        assert_eq!(name("jo@bücher-haus.de"), "Bücher Haus");
    }

    #[test]
    fn public_mail_providers_keep_the_personal_name() {
        assert_eq!(name("someone@gmail.com"), "someone@gmail.com's account");
        assert_eq!(name("someone@outlook.com"), "someone@outlook.com's account");
    }
}
