"""What goes into a model: seeded latents, class labels, latent walks, StyleGAN W-space tools."""
