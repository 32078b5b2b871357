"""sild's own copies of the schemas X-Road WSDLs import, served to IS clients without internet."""
