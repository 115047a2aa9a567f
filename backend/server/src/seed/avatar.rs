//! Generated avatar pictures for the demo's members: a symmetric 5×5 pattern in a colour drawn
//! from the member's name, like the identicons code hosts give new accounts.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};
use sha2::{Digest, Sha256};

/// Pixels per side.
const SIZE: u32 = 96;

/// A PNG picture for `name`: the same name always gives the same picture.
pub fn avatar_png(name: &str) -> anyhow::Result<Vec<u8>> {
    let hash = Sha256::digest(name.as_bytes());
    let colour = Rgb([hash[0] / 2 + 64, hash[1] / 2 + 64, hash[2] / 2 + 64]);
    let background = Rgb([240, 240, 240]);
    let cell = SIZE / 6;
    let margin = (SIZE - cell * 5) / 2;
    let image = RgbImage::from_fn(SIZE, SIZE, |x, y| {
        if x < margin || y < margin || x >= SIZE - margin || y >= SIZE - margin {
            return background;
        }
        let (col, row) = (((x - margin) / cell).min(4), ((y - margin) / cell).min(4));
        // Mirrored left to right: columns 3 and 4 repeat 1 and 0.
        let col = if col > 2 { 4 - col } else { col };
        let bit = (row * 3 + col) as usize;
        if hash[3 + bit / 8] & (1 << (bit % 8)) != 0 {
            colour
        } else {
            background
        }
    });
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, ImageFormat::Png)?;
    Ok(png.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_name_gives_the_same_png() {
        let a = avatar_png("Ana Souza").unwrap();
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(a, avatar_png("Ana Souza").unwrap());
        assert_ne!(a, avatar_png("Bruno Lima").unwrap());
    }
}
