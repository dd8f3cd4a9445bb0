"""The live view of a running lab: a local web page (127.0.0.1 only) with each
client's current PoP for G and every P_k, RTT over time, events as they
happen, the emulation health and BGP's explanation for a clicked client."""
