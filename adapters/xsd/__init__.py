"""Schemas every adapter serves beside its WSDL: sild's own ``xroad.xsd`` and ``identifiers.xsd``.

Written from X-Road's published message protocol (not copied), so that WSDLs work in
networks without internet access. A package so that installers ship the files.
"""
